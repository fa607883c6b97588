"""Super-resolution ×2 / ×4: "fast" (our network) or "quality" (Real-ESRGAN x4plus), tiled."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from core.devices import inference_autocast
from core.images import ImageSource, load_image
from enhance import EnhanceError
from enhance.models import load_shipped
from enhance.tiling import Progress, tiled

MODES = ("fast", "quality")
MAX_OUTPUT_PIXELS = 200_000_000  # a 4000×3000 photo ×4 (192 MP) fits


def check_output_size(image: Image.Image, scale: int) -> None:
    pixels = image.width * image.height * scale * scale
    if pixels > MAX_OUTPUT_PIXELS:
        raise EnhanceError(f"a {image.width}×{image.height} photo ×{scale} would be {pixels / 1e6:.0f} megapixels; "
                           f"the limit is {MAX_OUTPUT_PIXELS / 1e6:.0f} (use ×2, or crop the photo first)")


def upscale(image: ImageSource, scale: int = 4, mode: str = "fast", progress: Progress = None, model=None) -> Image.Image:
    """`model`: another exported super-resolution folder for the fast mode (default: the shipped one)."""
    if isinstance(scale, bool) or scale not in (2, 4):
        raise EnhanceError(f"scale must be 2 or 4, got {scale!r}")
    if mode not in MODES:
        raise EnhanceError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    image = load_image(image)
    check_output_size(image, scale)
    pixels = np.asarray(image)
    if mode == "fast":
        model = load_shipped("sr", model)
        device = next(model.parameters()).device

        def fast(x: torch.Tensor) -> torch.Tensor:
            with inference_autocast(device):
                return model(x.to(device), scale).float().cpu()

        return Image.fromarray(tiled(fast, pixels, scale, tile=192, overlap=16, progress=progress))
    from enhance.realesrgan import load_realesrgan

    model = load_realesrgan("cuda" if torch.cuda.is_available() else "cpu")
    device = next(model.parameters()).device

    def x4(x: torch.Tensor) -> torch.Tensor:
        with inference_autocast(device):
            return model(x.to(device)).float().cpu()

    if scale == 4:
        return Image.fromarray(tiled(x4, pixels, 4, tile=128, overlap=16, progress=progress))
    # ×2 with a ×4 network: upscale ×4 then downscale by 2 per tile (area), bounded like the rest
    return Image.fromarray(tiled(lambda x: F.interpolate(x4(x), scale_factor=0.5, mode="area"), pixels, 2, tile=128, overlap=16, progress=progress))
