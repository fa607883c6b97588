"""Style transfer onto products: one forward pass ("fast", AdaIN decoder) or optimisation ("quality").

Both work at most `size` pixels on the longer side (the result's size), with the style image
resized to the same area whatever its own size. Strength α moves the style statistics from the
content's own (α = 0: the photo back, exactly) to the style's (α = 1). Options:
- `preserve_color`: keep the content's colours; only the luminance is restyled;
- `product_only`: style inside the product mask (the background segmenter), background pixels untouched;
- `style2` + `mix`: a blend of two styles' statistics.
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np
import torch
from PIL import Image

from core.devices import inference_device
from core.images import ImageSource, load_image, to_pil, to_tensor
from core.outputs import to_uint8
from core.requests import is_number_between
from style import StyleError
from style.models import load_decoder
from style.statistics import CONTENT_TAP, DECODER_TAPS, adain, content_distance, encode, mix_statistics, style_distance, style_statistics

MODES = ("fast", "quality")
SIZES = (64, 1024)
MIN_SIDE = 32  # the decoder pads its 1/16-scale input by reflection, which needs 2 pixels there
MAX_STEPS = 500
Progress = Callable[[float], None] | None


def check_fraction(name: str, value) -> float:
    if not is_number_between(value, 0, 1):
        raise StyleError(f"{name} must be a number from 0 to 1, got {value!r}")
    return float(value)


def fit_area(image: Image.Image, size: int) -> Image.Image:
    """Resize so the longer side is at most `size` (never upscale)."""
    factor = min(1.0, size / max(image.size))
    if factor == 1.0:
        return image
    return image.resize((max(1, round(image.width * factor)), max(1, round(image.height * factor))), Image.Resampling.LANCZOS)


def match_area(style: Image.Image, content: Image.Image) -> Image.Image:
    """The style at the content's area, keeping its own aspect: a pattern's scale is relative to the picture."""
    factor = math.sqrt(content.width * content.height / (style.width * style.height))
    size = (max(16, round(style.width * factor)), max(16, round(style.height * factor)))
    return style.resize(size, Image.Resampling.LANCZOS if factor < 1 else Image.Resampling.BICUBIC)


def model_input(image: Image.Image, device) -> torch.Tensor:
    """An RGB image → (1, 3, H, W) in [−1, 1], the range the encoder and decoder work in."""
    return to_tensor(image)[None].to(device) * 2 - 1


def to_image(x: torch.Tensor) -> Image.Image:
    return to_pil(to_uint8(x)[0])


@torch.inference_mode()
def fast_transfer(content: torch.Tensor, statistics: dict, strength: float, decoder) -> torch.Tensor:
    """AdaIN towards the style by `strength`, decoded; the decoder's own loss of detail is put back
    in proportion to 1 − strength, so strength 0 is the content exactly and low strengths stay sharp."""
    features = encode(content)
    size = content.shape[-2:]
    restyled = {tap: strength * adain(features[tap], *statistics[tap]) + (1 - strength) * features[tap] for tap in DECODER_TAPS}
    output = decoder(*(restyled[tap] for tap in DECODER_TAPS), size=size)
    if strength < 1:
        output = output + (1 - strength) * (content - decoder(*(features[tap] for tap in DECODER_TAPS), size=size))
    return output


def optimise_transfer(content: torch.Tensor, statistics: dict, strength: float, steps: int, progress: Progress = None,
                      content_weight: float = 1.0, tv_weight: float = 10.0, lr: float = 0.02) -> torch.Tensor:
    """Gatys-style optimisation of the pixels, starting from the content: style statistics (`strength`
    of the way from the content's own to the style's) + deep content features + total variation, on
    the same frozen features as the fast mode."""
    with torch.no_grad():
        features = encode(content)
        target = features[CONTENT_TAP]
        statistics = mix_statistics(style_statistics(features), statistics, strength)
    x = content.clone().requires_grad_(True)
    optimizer = torch.optim.Adam([x], lr=lr)
    for step in range(steps):
        features = encode(x)
        tv = (x[..., 1:, :] - x[..., :-1, :]).abs().mean() + (x[..., :, 1:] - x[..., :, :-1]).abs().mean()
        loss = style_distance(features, statistics).sum() + content_weight * content_distance(features, target).sum() + tv_weight * tv
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            x.clamp_(-1, 1)
        if progress is not None:
            progress((step + 1) / steps)
    return x.detach()


def preserve_colours(stylised: Image.Image, content: Image.Image) -> Image.Image:
    """The stylised luminance (shifted and scaled to the content's) with the content's chroma (YCbCr);
    the mean colour is then exactly the content's."""
    y = np.asarray(stylised.convert("YCbCr"), np.float32)[..., 0]
    ycbcr = np.asarray(content.convert("YCbCr"), np.float32).copy()
    reference = ycbcr[..., 0]
    ycbcr[..., 0] = (y - y.mean()) / (y.std() + 1e-6) * reference.std() + reference.mean()
    rgb = np.asarray(Image.fromarray(np.clip(ycbcr + 0.5, 0, 255).astype(np.uint8), "YCbCr").convert("RGB"), np.float32)
    target = np.asarray(content, np.float32).reshape(-1, 3).mean(0)
    for _ in range(3):  # restyled shading can push saturated colours out of range; clipping moves the mean back a little
        rgb = np.clip(rgb + target - rgb.reshape(-1, 3).mean(0), 0, 255)
    return Image.fromarray((rgb + 0.5).astype(np.uint8))


def product_weight(image: Image.Image) -> np.ndarray:
    """Product mask as a blend weight: 0 unless the segmenter is sure of the product (p < 0.85), so
    background pixels stay exactly as they were; 1 from p ≥ 0.95, a narrow soft edge between.
    Erring inside the product: an unstyled rim shows far less than a styled wall. 0.85 is the lowest
    threshold that keeps the leak under 2 % on composites of *training* products (bench/style.py
    measures the held-out ones)."""
    from enhance.background import product_alpha

    return np.clip((product_alpha(image) - 0.85) / 0.1, 0, 1)


def inside_product(changed: Image.Image | np.ndarray, original: Image.Image, weight: np.ndarray | None = None) -> Image.Image:
    """`changed` where the product is, `original` elsewhere (`weight`: `product_weight(original)` if already known)."""
    weight = (product_weight(original) if weight is None else weight)[..., None]
    out = np.asarray(original, np.float32) * (1 - weight) + np.asarray(changed, np.float32) * weight
    return Image.fromarray((out + 0.5).astype(np.uint8))


def stylize(content: ImageSource, style: ImageSource, strength: float = 1.0, preserve_color: bool = False,
            product_only: bool = False, mode: str = "fast", style2: ImageSource | None = None, mix: float = 0.5,
            size: int = 512, steps: int = 150, progress: Progress = None, decoder=None) -> Image.Image:
    """Restyle `content` after `style` (optionally a `mix` of `style` and `style2`). Returns an RGB image
    at most `size` px on its longer side. `decoder`: another exported decoder folder for the fast mode."""
    strength, mix = check_fraction("strength", strength), check_fraction("mix", mix)
    if mode not in MODES:
        raise StyleError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    if isinstance(size, bool) or not isinstance(size, int) or not SIZES[0] <= size <= SIZES[1]:
        raise StyleError(f"size must be a whole number of pixels from {SIZES[0]} to {SIZES[1]}, got {size!r}")
    if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= MAX_STEPS:
        raise StyleError(f"steps must be a whole number from 1 to {MAX_STEPS}, got {steps!r}")
    original = load_image(content)
    image = fit_area(original, size)
    if min(image.size) < MIN_SIDE:
        fitted = (f" ({image.width}×{image.height} once fitted into {size} px: crop it nearer to a square, or raise size)"
                  if min(original.size) >= MIN_SIDE else "")
        raise StyleError(f"the picture is too small to restyle: {original.width}×{original.height} px{fitted}; "
                         f"both sides must be at least {MIN_SIDE} px")
    device = inference_device()
    x = model_input(image, device)
    with torch.no_grad():
        statistics = style_statistics(encode(model_input(match_area(load_image(style), image), device)))
        if style2 is not None:
            statistics = mix_statistics(statistics, style_statistics(encode(model_input(match_area(load_image(style2), image), device))), mix)
    if strength == 0:
        result = image
    elif mode == "fast":
        result = to_image(fast_transfer(x, statistics, strength, decoder=load_decoder(decoder)))
    else:
        result = to_image(optimise_transfer(x, statistics, strength, steps, progress))
    if preserve_color:
        result = preserve_colours(result, image)
    if product_only:
        result = inside_product(result, image)
    if progress is not None:
        progress(1.0)
    return result
