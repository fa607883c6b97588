"""Clean background: segment the product, refine the mask's edges on the full-size photo when the
network worked on a smaller copy, then put the product on white or on a transparent background."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from core.images import ImageSource, load_image, to_tensor
from enhance import EnhanceError
from enhance.models import load_shipped

BACKGROUNDS = ("white", "transparent")
WORK_SIZE = 256  # the segmenter sees the photo at most this large (it was trained at 128 px)


def box_filter(x: torch.Tensor, radius: int) -> torch.Tensor:
    return F.avg_pool2d(F.pad(x, (radius,) * 4, mode="replicate"), 2 * radius + 1, stride=1)


def guided_filter(guide: torch.Tensor, source: torch.Tensor, radius: int, eps: float = 1e-3) -> torch.Tensor:
    """He et al. 2010 with a grey guide: the mask follows the photo's own edges."""
    mean_g, mean_s = box_filter(guide, radius), box_filter(source, radius)
    cov = box_filter(guide * source, radius) - mean_g * mean_s
    var = box_filter(guide * guide, radius) - mean_g ** 2
    a = cov / (var + eps)
    b = mean_s - a * mean_g
    return box_filter(a, radius) * guide + box_filter(b, radius)


@torch.inference_mode()
def product_alpha(image: Image.Image, model_folder=None) -> np.ndarray:
    """Soft product mask (H, W) in [0, 1] at the photo's full size (from the shipped segmenter, or
    the one exported in `model_folder`)."""
    model = load_shipped("segment", model_folder)
    device = next(model.parameters()).device
    factor = min(1.0, WORK_SIZE / max(image.size))
    seen = image  # what the network sees: the photo, or a copy at most WORK_SIZE large
    if factor < 1:
        seen = image.resize((max(1, round(image.width * factor)), max(1, round(image.height * factor))), Image.Resampling.BILINEAR)
    x = to_tensor(seen)[None]
    x = F.pad(x, (0, -seen.width % 16, 0, -seen.height % 16), mode="replicate")  # the U-Net's multiple
    logits = model(x.to(device)).float().cpu()[..., :seen.height, :seen.width]
    probability = torch.sigmoid(logits)
    if seen is image:  # the network saw the photo at full size: there are no lost edges to recover
        return probability[0, 0].numpy()
    full = F.interpolate(probability, size=(image.height, image.width), mode="bilinear", align_corners=False)
    guide = torch.from_numpy(np.asarray(image.convert("L"), np.float32) / 255)[None, None]
    radius = max(2, round(max(image.size) / WORK_SIZE * 2))
    refined = guided_filter(guide, full, radius)
    return refined.clamp(0, 1)[0, 0].numpy()


def remove_background(image: ImageSource, background: str = "white") -> Image.Image:
    if background not in BACKGROUNDS:
        raise EnhanceError(f"background must be one of {', '.join(BACKGROUNDS)}, got {background!r}")
    image = load_image(image)
    alpha = product_alpha(image)
    if background == "transparent":
        rgba = np.dstack([np.asarray(image), (alpha * 255 + 0.5).astype(np.uint8)])
        return Image.fromarray(rgba, "RGBA")
    out = np.asarray(image, np.float32) * alpha[..., None] + 255 * (1 - alpha[..., None])
    return Image.fromarray((out + 0.5).astype(np.uint8))
