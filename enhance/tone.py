"""Auto tone: exposure, white balance and saturation, measured from the photo, plus contrast and
warmth, all adjustable.

The exposure and colour cast come from our `ToneEstimator` (`checkpoints/tone-photos`), which learnt
from everyday photos what a typical one looks like. The fixed rules it replaced (grey-world white
balance, median luminance to 18 % grey, a 1st–99th-percentile contrast stretch) moved photos further
from how they were taken than the shifts they were meant to undo: a pink top on a brown wooden
floor came out lavender (bench/enhance.py, README). Contrast is therefore left at 1 unless set.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
from PIL import Image

from core.images import ImageSource, load_image, to_tensor
from core.requests import is_number_between
from enhance import EnhanceError
from enhance.models import linear_to_srgb, load_shipped, log2_gains, srgb_to_linear

RANGES = {"exposure": (-2.0, 2.0), "contrast": (0.5, 2.0), "warmth": (-1.0, 1.0), "saturation": (0.0, 2.0)}


@dataclass
class Tone:
    exposure: float = 0.0    # stops (EV) on linear light
    contrast: float = 1.0    # slope around mid-grey
    warmth: float = 0.0      # −1 cooler … +1 warmer, on top of the white balance
    saturation: float = 1.0  # chroma multiplier
    white_balance: tuple = (1.0, 1.0, 1.0)  # per-channel gains on linear light

    def check(self) -> "Tone":
        for name, (low, high) in RANGES.items():
            value = getattr(self, name)
            if not is_number_between(value, low, high):
                raise EnhanceError(f"{name} must be a number from {low:g} to {high:g}, got {value!r}")
        return self


def measure(image: Image.Image) -> Tone:
    """The automatic settings: the estimator's exposure and white balance (undoing the shift it reads),
    contrast 1, saturation a little up only when the photo is dull."""
    estimator = load_shipped("tone")
    size = estimator.config.size
    pixels = to_tensor(image.convert("RGB").resize((size, size), Image.Resampling.BILINEAR))[None]
    with torch.no_grad():
        shift = estimator(pixels.to(estimator.device)).float().cpu()
    low, high = RANGES["exposure"]
    hsv = np.asarray(image.convert("HSV").resize((64, 64)), np.float64) / 255
    saturation = 1.15 if hsv[..., 1].mean() < 0.2 else 1.0
    cast = shift * torch.tensor([0.0, 1.0, 1.0])  # the exposure part is applied as `exposure`, clamped to its range
    gains = tuple(torch.exp2(log2_gains(-cast))[0].tolist())
    return Tone(round(min(max(-float(shift[0, 0]), low), high), 2), 1.0, 0.0, saturation, gains)


def apply_tone(image: Image.Image, tone: Tone) -> Image.Image:
    tone.check()
    rgb = np.asarray(image.convert("RGB"), np.float32) / 255
    linear = srgb_to_linear(rgb) * np.asarray(tone.white_balance, np.float32) * 2 ** tone.exposure
    linear *= np.array([1 + 0.1 * tone.warmth, 1.0, 1 - 0.1 * tone.warmth], np.float32)
    out = linear_to_srgb(linear)
    out = (out - 0.5) * tone.contrast + 0.5
    grey = out @ np.array([0.299, 0.587, 0.114], np.float32)
    out = grey[..., None] + (out - grey[..., None]) * tone.saturation
    return Image.fromarray((np.clip(out, 0, 1) * 255 + 0.5).astype(np.uint8))


def auto_tone(image: ImageSource, exposure: float | None = None, contrast: float | None = None,
              warmth: float | None = None, saturation: float | None = None) -> tuple[Image.Image, dict]:
    """Auto-toned photo and the settings used; any setting given overrides the automatic one."""
    image = load_image(image)
    tone = measure(image)
    for name, value in (("exposure", exposure), ("contrast", contrast), ("warmth", warmth), ("saturation", saturation)):
        if value is not None:
            setattr(tone, name, value)
    return apply_tone(image, tone), asdict(tone)
