"""Where results go: pixels to and from the models' [-1, 1] range, per-request scratch folders (cleaned after an hour)
and PNGs that carry their provenance (prompt, seed, model, operations) in text chunks."""
from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import torch
from PIL import Image, PngImagePlugin

SCRATCH = Path(tempfile.gettempdir()) / "atelier-results"


def from_uint8(images: torch.Tensor) -> torch.Tensor:
    """uint8 pixels → float in the models' [-1, 1] range (the inverse of `to_uint8`)."""
    return images.float() / 127.5 - 1


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """Model output in [-1, 1] → uint8 NCHW on the CPU."""
    return ((images.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).cpu()


def scratch_dir(max_age_s: float = 3600) -> Path:
    """A fresh folder for one request's files; folders older than an hour are removed on the way."""
    SCRATCH.mkdir(parents=True, exist_ok=True)
    now = time.time()
    for old in SCRATCH.iterdir():
        if now - old.stat().st_mtime > max_age_s:
            shutil.rmtree(old, ignore_errors=True)
    return Path(tempfile.mkdtemp(dir=SCRATCH))


def png_metadata(image: Image.Image) -> PngImagePlugin.PngInfo:
    """The PNG text chunks that travel with a generated image (prompt, seed, model…)."""
    meta = PngImagePlugin.PngInfo()
    for key in ("prompt", "seed", "index", "variety", "model", "match_score", "upscaled", "operations"):
        if key in image.info:
            meta.add_text(key, str(image.info[key]))
    return meta


def save_png(image: Image.Image, path: str | Path) -> Path:
    path = Path(path)
    image.save(path, format="PNG", pnginfo=png_metadata(image))
    return path
