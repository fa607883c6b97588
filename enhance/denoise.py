"""Blind denoising: estimate the noise level, or take it as a strength, and run our denoiser tiled."""
from __future__ import annotations

import math

import numpy as np
import torch
from PIL import Image

from core.devices import inference_autocast
from core.images import ImageSource, load_image
from core.requests import is_number_between
from enhance import EnhanceError
from enhance.models import load_shipped
from enhance.tiling import Progress, tiled

MAX_STRENGTH = 50.0  # noise σ on the 0–255 scale; 0 = estimate it from the photo


def estimate_noise(image: Image.Image) -> float:
    """Gaussian noise σ per channel (0–255 scale), Immerkær's fast estimator (1996): the
    Laplacian-difference response cancels smooth image structure, and the 10 % most edge-like
    pixels (found on a blurred copy, so the noise does not choose them) are left out so texture is
    not mistaken for noise."""
    import cv2

    rgb = np.asarray(image.convert("RGB"), np.float64)
    if min(rgb.shape[:2]) < 8:
        return 0.0
    kernel = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float64)
    smooth = cv2.GaussianBlur(rgb.mean(2), (0, 0), 2)  # edges of the scene, not of the noise
    edges = np.hypot(cv2.Sobel(smooth, cv2.CV_64F, 1, 0), cv2.Sobel(smooth, cv2.CV_64F, 0, 1))[1:-1, 1:-1]
    calm = edges <= np.percentile(edges, 90)
    per_channel = [np.abs(cv2.filter2D(rgb[..., c], -1, kernel, borderType=cv2.BORDER_REFLECT))[1:-1, 1:-1][calm].mean() for c in range(3)]
    return float(math.sqrt(math.pi / 2) * np.mean(per_channel) / 6)


def denoise(image: ImageSource, strength: float = 0.0, progress: Progress = None, model=None) -> tuple[Image.Image, float]:
    """Denoised photo and the noise σ used (estimated when `strength` is 0). `model`: another exported denoiser folder."""
    if not is_number_between(strength, 0, MAX_STRENGTH):
        raise EnhanceError(f"strength must be a number from 0 (automatic) to {MAX_STRENGTH:g}, got {strength!r}")
    image = load_image(image)
    sigma = float(strength) if strength > 0 else min(estimate_noise(image), MAX_STRENGTH)
    model = load_shipped("denoise", model)
    device = next(model.parameters()).device
    level = torch.tensor([sigma / 255], device=device)

    def clean(x: torch.Tensor) -> torch.Tensor:
        with inference_autocast(device):
            return model(x.to(device), level).float().cpu()

    return Image.fromarray(tiled(clean, np.asarray(image), 1, tile=256, overlap=24, progress=progress)), sigma
