"""What "style" and "content" mean here: statistics of the frozen EfficientNet-Lite0 feature maps.

The fast decoder is trained with these, the quality mode optimises them, and `bench/style.py`
reports them — one definition for all three.
- content: the deepest tap (1/16 resolution, 112 channels), compared position by position;
- style: per-channel mean and standard deviation at four taps from 1/2 to 1/16 resolution
  (Huang & Belongie's AdaIN statistics), compared regardless of position and image size.
"""
from __future__ import annotations

import torch

from core.features import feature_maps

DECODER_TAPS = (2, 4, 10)  # what the decoder is fed: 1/4, 1/8, 1/16 (24, 40, 112 channels)
STYLE_TAPS = (0, 2, 4, 10)  # 1/2 … 1/16
CONTENT_TAP = 10
TAPS = tuple(sorted(set(DECODER_TAPS) | set(STYLE_TAPS)))


def encode(images: torch.Tensor) -> dict[int, torch.Tensor]:
    """Images in [-1, 1] (N, 3, H, W) → {tap: feature map}; gradients flow to the images."""
    return dict(zip(TAPS, feature_maps(images, TAPS, device=images.device.type)))


def mean_std(features: torch.Tensor, eps: float = 1e-5) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-image, per-channel mean and standard deviation, shaped (N, C, 1, 1)."""
    mean = features.mean(dim=(2, 3), keepdim=True)
    std = (features.var(dim=(2, 3), keepdim=True, unbiased=False) + eps).sqrt()
    return mean, std


def style_statistics(features: dict[int, torch.Tensor]) -> dict[int, tuple[torch.Tensor, torch.Tensor]]:
    return {tap: mean_std(features[tap]) for tap in STYLE_TAPS}


def mix_statistics(a: dict, b: dict, weight: float) -> dict:
    """Statistics of a style `weight` of the way from `a` to `b` (mixing two styles)."""
    return {tap: tuple((1 - weight) * x + weight * y for x, y in zip(a[tap], b[tap])) for tap in a}


def adain(content: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """Give the content features the style's per-channel mean and deviation."""
    content_mean, content_std = mean_std(content)
    return (content - content_mean) / content_std * std + mean


def style_distance(features: dict[int, torch.Tensor], style: dict) -> torch.Tensor:
    """(N,) mean over taps and channels of the squared differences of means and deviations."""
    total = 0
    for tap in STYLE_TAPS:
        mean, std = mean_std(features[tap])
        total = total + ((mean - style[tap][0]).square() + (std - style[tap][1]).square()).mean(dim=(1, 2, 3))
    return total / len(STYLE_TAPS)


def content_distance(features: dict[int, torch.Tensor], target: torch.Tensor) -> torch.Tensor:
    """(N,) mean squared difference of the deepest feature maps (`target` has the same shape)."""
    return (features[CONTENT_TAP] - target).square().mean(dim=(1, 2, 3))
