"""The fast style-transfer decoder: EfficientNet-Lite0 features (frozen, not shipped) → image.

AdaIN (Huang & Belongie 2017) with one change for our encoder: EfficientNet's deepest useful
features are at 1/16 of the image (VGG's relu4_1 is at 1/8), too coarse to draw a product back
from, so the decoder is also fed the re-styled 1/8 and 1/4 features (as multi-level WCT does).
Nearest-neighbour upsampling and reflection padding avoid checkerboard and border artefacts.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F
from diffusers import ConfigMixin, ModelMixin
from diffusers.configuration_utils import register_to_config

SHIPPED = Path(__file__).resolve().parent.parent / "checkpoints" / "style-decoder"


def block(in_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(in_channels, out_channels, 3), nn.ReLU(),
                         nn.ReflectionPad2d(1), nn.Conv2d(out_channels, out_channels, 3), nn.ReLU())


class StyleDecoder(ModelMixin, ConfigMixin):
    @register_to_config
    def __init__(self, feature_channels: tuple = (24, 40, 112), channels: tuple = (48, 96, 128), half_channels: int = 32,
                 full_channels: int = 16):
        super().__init__()
        c4, c8, c16 = feature_channels
        w4, w8, w16 = channels
        self.deep = block(c16, w16)
        self.middle = block(w16 + c8, w8)
        self.shallow = block(w8 + c4, w4)
        self.upsampled = block(w4, half_channels)
        self.to_image = nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(half_channels, full_channels, 3), nn.ReLU(),
                                  nn.ReflectionPad2d(1), nn.Conv2d(full_channels, 3, 3))

    def forward(self, quarter: torch.Tensor, eighth: torch.Tensor, sixteenth: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        """Feature maps at 1/4, 1/8, 1/16 → an image of `size` in [-1, 1] (not clamped)."""
        up = lambda x, like: F.interpolate(x, size=like.shape[-2:], mode="nearest")
        x = self.deep(sixteenth)
        x = self.middle(torch.cat([up(x, eighth), eighth], 1))
        x = self.shallow(torch.cat([up(x, quarter), quarter], 1))
        x = self.upsampled(F.interpolate(x, scale_factor=2, mode="nearest"))
        return self.to_image(F.interpolate(x, size=size, mode="nearest"))


@lru_cache(maxsize=4)
def load_decoder(folder=None) -> StyleDecoder:
    """The shipped decoder (checkpoints/style-decoder) or another exported folder; loaded once per process."""
    from core.checkpoints import load_pretrained
    from core.devices import inference_device

    return load_pretrained(StyleDecoder, Path(folder) if folder else SHIPPED, inference_device())
