"""Scoring and reranking with the matching model: does this picture match this description?

    from match.score import Matcher
    matcher = Matcher.from_pretrained("checkpoints/match-fashion")
    matcher.score(["Women Red Handbag"], images)          # (1, N) cosines in [−1, 1]
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import torch

from core.checkpoints import CheckpointError, load_pretrained, read_json
from core.features import pooled_features
from core.text import encode_text
from match.model import MatchingHeads

DEFAULT_MODEL = Path(__file__).resolve().parent.parent / "checkpoints" / "match-fashion"


class Matcher:
    def __init__(self, heads: MatchingHeads):
        self.heads = heads
        self.device = next(heads.parameters()).device

    @classmethod
    def from_pretrained(cls, folder: str | Path = DEFAULT_MODEL, device: str = "cpu") -> "Matcher":
        folder = Path(folder)
        if read_json(folder / "atelier.json", {}).get("kind") != "match":
            raise CheckpointError(f"{folder} is not a matching model (atelier.json kind must be 'match')")
        return cls(load_pretrained(MatchingHeads, folder, device))

    def image_features(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 (N, 3, H, W) → the frozen tower's features at the model's input size."""
        return pooled_features(images, size=self.heads.config.image_size, device=self.device.type)

    @torch.inference_mode()
    def score(self, texts: list[str], images: torch.Tensor) -> torch.Tensor:
        """(len(texts), N) cosine similarities between descriptions and uint8 images."""
        return self.heads(encode_text(texts).to(self.device), self.image_features(images).to(self.device)).float().cpu()

    def image_score(self, text: str, images: torch.Tensor) -> torch.Tensor:
        """Differentiable score of float images in [−1, 1] (N, 3, H, W) against one description, (N,)."""
        import torch.nn.functional as F

        from core.features import efficientnet_lite0, normalize_uint8

        size = self.heads.config.image_size
        x = F.interpolate(normalize_uint8((images + 1) * 127.5), size=(size, size), mode="bilinear", align_corners=False)
        features = efficientnet_lite0(self.device.type).extract_features(x.to(self.device)).mean(dim=(2, 3))
        text_features = encode_text([text]).clone()  # the encoder's cache may hold inference-mode tensors
        return self.heads(text_features.to(self.device), features)[0]

    def rerank(self, text: str, images: torch.Tensor, keep: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The `keep` images that match `text` best, best first: (indices, scores)."""
        scores = self.score([text], images)[0]
        top = scores.topk(min(keep, len(scores)))
        return top.indices, top.values


@lru_cache(maxsize=2)
def load_matcher(folder: str | Path = DEFAULT_MODEL) -> Matcher:
    return Matcher.from_pretrained(folder)
