"""Auto tone: exposure, contrast, white balance and saturation, measured from the photo and
adjustable. Classical image statistics (no network): predictable, instant, and what a shop owner
expects from an "auto" button.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from PIL import Image

from core.images import ImageSource, load_image
from core.requests import is_number_between
from enhance import EnhanceError

RANGES = {"exposure": (-2.0, 2.0), "contrast": (0.5, 2.0), "warmth": (-1.0, 1.0), "saturation": (0.0, 2.0)}


@dataclass
class Tone:
    exposure: float = 0.0    # stops (EV) on linear light
    contrast: float = 1.0    # slope around mid-grey
    warmth: float = 0.0      # −1 cooler … +1 warmer, on top of the white balance
    saturation: float = 1.0  # chroma multiplier
    white_balance: tuple = (1.0, 1.0, 1.0)  # per-channel gains (grey world)

    def check(self) -> "Tone":
        for name, (low, high) in RANGES.items():
            value = getattr(self, name)
            if not is_number_between(value, low, high):
                raise EnhanceError(f"{name} must be a number from {low:g} to {high:g}, got {value!r}")
        return self


def to_linear(srgb: np.ndarray) -> np.ndarray:
    return np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)


def to_srgb(linear: np.ndarray) -> np.ndarray:
    linear = np.clip(linear, 0, 1)
    return np.where(linear <= 0.0031308, linear * 12.92, 1.055 * linear ** (1 / 2.4) - 0.055)


def measure(image: Image.Image) -> Tone:
    """The automatic settings: grey-world white balance on mid-tones, exposure that puts the median
    luminance at 18 % grey, contrast that spreads the 1st–99th percentiles, saturation left as is
    unless the photo is dull."""
    small = np.asarray(image.convert("RGB").resize((256, max(1, round(256 * image.height / image.width)))), np.float64) / 255
    linear = to_linear(small).reshape(-1, 3)
    luminance = linear @ np.array([0.2126, 0.7152, 0.0722])
    usable = (luminance > 0.02) & (linear.max(1) < 0.98)
    pixels = linear[usable] if usable.sum() > 100 else linear
    means = pixels.mean(0) + 1e-6
    gains = np.clip(means.mean() / means, 0.5, 2.0)
    median = float(np.median(luminance)) + 1e-6
    exposure = float(np.clip(math.log2(0.18 / median), -1.5, 1.5))
    low, high = np.percentile(to_srgb(luminance * 2 ** exposure), [1, 99])
    contrast = float(np.clip(0.9 / max(high - low, 1e-3), 1.0, 1.4))
    hsv = np.asarray(image.convert("HSV").resize((64, 64)), np.float64) / 255
    saturation = 1.15 if hsv[..., 1].mean() < 0.2 else 1.0
    return Tone(round(exposure, 2), round(contrast, 2), 0.0, saturation, tuple(float(g) for g in gains))


def apply_tone(image: Image.Image, tone: Tone) -> Image.Image:
    tone.check()
    rgb = np.asarray(image.convert("RGB"), np.float32) / 255
    linear = to_linear(rgb) * np.asarray(tone.white_balance, np.float32) * 2 ** tone.exposure
    linear *= np.array([1 + 0.1 * tone.warmth, 1.0, 1 - 0.1 * tone.warmth], np.float32)
    out = to_srgb(linear)
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
