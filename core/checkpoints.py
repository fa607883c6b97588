"""The one checkpoint format and loader.

- Shipped models: diffusers `save_pretrained` folders (config.json + fp16 safetensors) plus a
  model card README.md; loaded with `from_pretrained(..., use_safetensors=True)`.
- Training state (to resume a killed run): one safetensors file holding every tensor (model,
  EMA and optimizer states) with the rest as JSON in its metadata. No pickles anywhere.
- Every write goes to a temporary path first and is renamed into place, so a kill never leaves
  a half-written checkpoint.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file


_UMASK = os.umask(0o022)
os.umask(_UMASK)


class CheckpointError(RuntimeError):
    """A checkpoint is missing, damaged or of the wrong kind; the message says how to get a good one."""


@contextmanager
def atomic_path(final: str | Path):
    """Yield a temporary sibling path; on success rename it over `final` (file or folder)."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=final.parent)) / final.name
    try:
        yield tmp
        _readable_as_umask_allows(tmp)
        if tmp.is_dir() and final.is_dir():
            old = final.with_name(f".{final.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(final, old)
            os.replace(tmp, final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, final)
    finally:
        shutil.rmtree(tmp.parent, ignore_errors=True)


def _readable_as_umask_allows(path: Path) -> None:
    """safetensors creates its files owner-only (0600); give them the mode any other file would get."""
    for file in [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]:
        file.chmod(0o666 & ~_UMASK)


def write_text_atomic(path: str | Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def _flatten(obj, prefix: str, tensors: dict):
    """Nested dicts/lists with tensors → JSON-able skeleton; tensors moved into `tensors`."""
    if isinstance(obj, torch.Tensor):
        tensors[prefix] = obj.detach().cpu().contiguous()
        return {"__tensor__": prefix}
    if isinstance(obj, dict):
        return {"__dict__": [[_flatten(k, f"{prefix}.k{i}", tensors), _flatten(v, f"{prefix}.{i}", tensors)] for i, (k, v) in enumerate(obj.items())]}
    if isinstance(obj, (list, tuple)):
        return {"__list__": [_flatten(v, f"{prefix}.{i}", tensors) for i, v in enumerate(obj)]}
    return obj


def _unflatten(skeleton, tensors: dict):
    if isinstance(skeleton, dict):
        if "__tensor__" in skeleton:
            return tensors[skeleton["__tensor__"]]
        if "__dict__" in skeleton:
            return {_unflatten(k, tensors): _unflatten(v, tensors) for k, v in skeleton["__dict__"]}
        if "__list__" in skeleton:
            return [_unflatten(v, tensors) for v in skeleton["__list__"]]
    return skeleton


def save_training_state(path: str | Path, state: dict) -> None:
    """Save any nested state (state dicts, optimizer states, ints, strings) as one safetensors file."""
    tensors: dict[str, torch.Tensor] = {}
    skeleton = _flatten(state, "s", tensors)
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata={"skeleton": json.dumps(skeleton)})


def load_training_state(path: str | Path) -> dict:
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            skeleton = json.loads(f.metadata()["skeleton"])
        return _unflatten(skeleton, load_file(str(path)))
    except Exception as e:
        raise CheckpointError(f"{path}: not a readable training state ({type(e).__name__}: {e})") from None


def export_pretrained(model: torch.nn.Module, folder: str | Path, card: str, extra_json: dict | None = None) -> Path:
    """Write a shipped model: fp16 safetensors + config.json + model card (+ extra JSON files), atomically."""
    from diffusers.utils import logging as diffusers_logging

    folder = Path(folder)
    verbosity = diffusers_logging.get_verbosity()
    diffusers_logging.set_verbosity_error()  # silence the fp16-cast advice: we cast a copy on purpose
    half = type(model).from_config(model.config)  # not deepcopy: spectral norm's computed weights refuse it
    half.load_state_dict(model.state_dict())
    half = half.to(torch.float16)
    diffusers_logging.set_verbosity(verbosity)
    with atomic_path(folder) as tmp:
        half.save_pretrained(tmp, safe_serialization=True)
        (tmp / "README.md").write_text(card, encoding="utf-8")
        for name, content in (extra_json or {}).items():
            (tmp / name).write_text(json.dumps(content, indent=2, ensure_ascii=False), encoding="utf-8")
    return folder


def load_pretrained(model_class, folder: str | Path, device="cpu"):
    """Load a shipped model (float32, eval mode) from safetensors only, with a clear error if unusable."""
    folder = Path(folder)
    how = "train one with `python train.py …` and export it, or restore the folder with `git checkout -- " + str(folder) + "`"
    if not (folder / "config.json").is_file():
        raise CheckpointError(f"no model at {folder} (config.json missing); {how}")
    if not any(folder.glob("*.safetensors")):
        raise CheckpointError(f"{folder} has no .safetensors weights; {how}")
    held = read_json(folder / "config.json", {}).get("_class_name")
    if held and held != model_class.__name__:
        raise CheckpointError(f"{folder} holds a {held}, not a {model_class.__name__}")
    try:
        model = model_class.from_pretrained(str(folder), use_safetensors=True, torch_dtype=torch.float32, local_files_only=True)
    except Exception as e:
        raise CheckpointError(f"{folder} could not be loaded ({type(e).__name__}: {str(e)[:200]}); {how}") from None
    return model.to(device).eval()


def read_json(path: str | Path, default=None):
    path = Path(path)
    if not path.is_file():
        return default
    return json.loads(path.read_text(encoding="utf-8"))
