"""Run an image-to-image network over a photo of any size in tiles, so memory stays bounded.

Each tile is processed with `overlap` pixels of context on every side (less at the photo's edges)
and only its centre is kept, so seams vanish when the network's receptive field fits in the
overlap. The output is written into a uint8 array: a 4000×3000 photo upscaled ×4 needs 0.6 GB for
the result and a few tiles' worth of floats, not 2.3 GB of float32.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from core.images import to_pil, to_tensor

Progress = Callable[[float], None] | None


@torch.inference_mode()
def tiled(fn: Callable[[torch.Tensor], torch.Tensor], image: np.ndarray, scale: int = 1, tile: int = 256,
          overlap: int = 32, progress: Progress = None, multiple: int = 1) -> np.ndarray:
    """`fn`: float (1, 3, h, w) in [0, 1] → (1, 3, h·scale, w·scale). `image`: uint8 (H, W, 3).
    Tile corners are kept on multiples of `multiple` (for networks that pixel-unshuffle)."""
    height, width = image.shape[:2]
    out = np.empty((height * scale, width * scale, 3), np.uint8)
    tile = max(multiple, tile // multiple * multiple)
    overlap = overlap // multiple * multiple
    corners = [(top, left) for top in range(0, height, tile) for left in range(0, width, tile)]
    for done, (top, left) in enumerate(corners, 1):
        bottom, right = min(top + tile, height), min(left + tile, width)
        t0, l0 = max(0, top - overlap), max(0, left - overlap)
        b0, r0 = min(height, bottom + overlap), min(width, right + overlap)
        y = np.asarray(to_pil(fn(to_tensor(image[t0:b0, l0:r0])[None])[0]))
        core = y[(top - t0) * scale:(bottom - t0) * scale, (left - l0) * scale:(right - l0) * scale]
        out[top * scale:bottom * scale, left * scale:right * scale] = core
        if progress is not None:
            progress(done / len(corners))
    return out
