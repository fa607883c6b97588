"""Repair (inpaint) a brushed region: our network (a learned correction of OpenCV's Telea fill, averaged
over the four flips of the region) around the hole, or Telea alone as the fallback."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from core.devices import inference_autocast
from core.images import ImageSource, load_image, open_image, to_pil, to_rgb, to_tensor
from enhance import EnhanceError
from enhance.degrade import telea
from enhance.ensemble import flip_ensemble
from enhance.models import load_shipped

METHODS = ("learned", "opencv")
WORK_SIZE = 384  # the region around the hole is processed at most this large (the network saw 128-px crops of 256-px photos)


def read_mask(mask: ImageSource | np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Mask image → bool (H, W) at the photo's size. White = repair; in a mask with transparent pixels
    (a brush layer, as the Enhance tab's editor paints) whatever is painted is repaired, in any colour.
    A mask of another size is resized (nearest), keeping its aspect; an empty or full mask is refused."""
    if isinstance(mask, np.ndarray) and mask.ndim == 2:
        mask = Image.fromarray((mask > 0).astype(np.uint8) * 255)
    image = open_image(mask)
    if image.mode in ("LA", "PA", "La", "RGBa") or (image.mode == "P" and "transparency" in image.info):
        image = image.convert("RGBA")
    alpha = np.asarray(image.getchannel("A")) if image.mode == "RGBA" else None
    grey = alpha if alpha is not None and alpha.min() < 255 else np.asarray(to_rgb(image).convert("L"))
    if grey.shape[::-1] != size:
        grey = np.asarray(Image.fromarray(grey).resize(size, Image.Resampling.NEAREST))
    holes = grey > 127
    if not holes.any():
        raise EnhanceError("the mask is empty: brush over what should be repaired (white = repair)")
    if holes.all():
        raise EnhanceError("the mask covers the whole photo: there is nothing left to repair it from")
    return holes


def inpaint(image: ImageSource, mask: ImageSource | np.ndarray, method: str = "learned", model=None) -> Image.Image:
    """Fill the mask's white pixels; everything else is returned unchanged. `model`: another exported inpainter folder."""
    if method not in METHODS:
        raise EnhanceError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    image = load_image(image)
    holes = read_mask(mask, image.size)
    pixels = np.asarray(image)
    if method == "opencv":
        import cv2

        return Image.fromarray(cv2.inpaint(pixels, holes.astype(np.uint8) * 255, 5, cv2.INPAINT_TELEA))
    # the region around the hole, with as much context again on each side
    ys, xs = np.nonzero(holes)
    margin = max(32, int(max(np.ptp(ys), np.ptp(xs))))
    top, bottom = max(0, ys.min() - margin), min(image.height, ys.max() + 1 + margin)
    left, right = max(0, xs.min() - margin), min(image.width, xs.max() + 1 + margin)
    region, region_holes = pixels[top:bottom, left:right], holes[top:bottom, left:right]
    factor = min(1.0, WORK_SIZE / max(region.shape[:2]))
    work, work_holes, size = region, region_holes, region.shape[1::-1]
    if factor < 1:  # a very large hole: work on a smaller copy of its region
        size = (max(8, round(size[0] * factor)), max(8, round(size[1] * factor)))
        work_holes = np.asarray(Image.fromarray(region_holes.astype(np.uint8) * 255).resize(size, Image.Resampling.BILINEAR)) > 0
        work = np.asarray(Image.fromarray(region).resize(size, Image.Resampling.BICUBIC))
    # pad (not resize) to the U-Net's multiple of 8: resampling the photo blurs what the network matches
    pad = (0, -size[0] % 8, 0, -size[1] % 8)
    x = F.pad(to_tensor(work)[None], pad, mode="replicate")
    m = F.pad(torch.from_numpy(work_holes)[None, None].float(), pad)
    model = load_shipped("inpaint", model)
    device = next(model.parameters()).device
    with torch.inference_mode(), inference_autocast(device):
        filled = flip_ensemble(model, x.to(device), m.to(device), telea(x, m).to(device)).float()
    filled = to_pil(filled[0, :, :size[1], :size[0]])
    if factor < 1:
        filled = filled.resize((right - left, bottom - top), Image.Resampling.BICUBIC)
    out = pixels.copy()
    out[top:bottom, left:right][region_holes] = np.asarray(filled)[region_holes]
    return Image.fromarray(out)
