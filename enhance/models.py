"""Our enhancement networks, small enough to train on a CPU in minutes, as diffusers `ModelMixin`s.

All take and return RGB in [0, 1], NCHW, and are fully convolutional (any size; `enhance.tiling`
keeps memory bounded on large photos).

- `SuperResolution`: a residual body at low resolution, pixel-shuffle heads for ×2 and ×4 sharing
  it, added to a bicubic upsampling (the network only learns the missing detail).
- `Denoiser`: DnCNN-style (Zhang et al. 2017) residual network that predicts the noise, with
  FFDNet's noise-level map as an extra input so one model covers σ 0–50 and the strength can be
  overridden. (FFDNet's half-resolution trick trained too slowly for our CPU budget.)
- `Inpainter`: a U-Net with dilated convolutions in the bottleneck (a wide receptive field for
  large holes) that corrects OpenCV's Telea fill (it starts as exactly that fill: zero-initialised
  output), fed the holed image, the Telea fill and the mask; only hole pixels are replaced.
- `Segmenter`: a small U-Net giving the product-mask logit.
- `ToneEstimator`: how far a photo's exposure and colour cast are from a typical photo's, read from
  colour statistics (a log-chroma histogram, as in Barron's FFCC, and a luminance histogram) by a
  small MLP trained on photos shifted by known amounts. Fixed rules (grey world, median at 18 %
  grey) cannot tell a brown floor from a warm cast or a dark scene from a dim photo; this learns it.
"""
from __future__ import annotations

from functools import lru_cache

import torch
import torch.nn as nn
import torch.nn.functional as F
from diffusers import ConfigMixin, ModelMixin
from diffusers.configuration_utils import register_to_config


def conv(in_channels: int, out_channels: int, dilation: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, 3, padding=dilation, dilation=dilation)


class ResidualBlock(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.conv1, self.conv2 = conv(channels, channels), conv(channels, channels)

    def forward(self, x):
        return x + self.conv2(F.relu(self.conv1(x)))


class SuperResolution(ModelMixin, ConfigMixin):
    @register_to_config
    def __init__(self, features: int = 48, blocks: int = 5, head_features: int = 24):
        super().__init__()
        self.head = conv(3, features)
        self.body = nn.Sequential(*(ResidualBlock(features) for _ in range(blocks)), conv(features, features))
        self.up2 = nn.Sequential(conv(features, 4 * head_features), nn.PixelShuffle(2), nn.ReLU(), conv(head_features, 3))
        self.up4 = nn.Sequential(conv(features, 4 * head_features), nn.PixelShuffle(2), nn.ReLU(),
                                 conv(head_features, 4 * head_features), nn.PixelShuffle(2), nn.ReLU(), conv(head_features, 3))

    def forward(self, x: torch.Tensor, scale: int = 4) -> torch.Tensor:
        if scale not in (2, 4):
            raise ValueError("scale must be 2 or 4")
        features = self.head(x)
        features = features + self.body(features)
        detail = (self.up2 if scale == 2 else self.up4)(features)
        return F.interpolate(x, scale_factor=scale, mode="bicubic", align_corners=False) + detail


class Denoiser(ModelMixin, ConfigMixin):
    @register_to_config
    def __init__(self, features: int = 32, layers: int = 8):
        super().__init__()
        body = [conv(3 + 1, features), nn.ReLU()]
        for _ in range(layers - 2):
            body += [conv(features, features), nn.ReLU()]
        body += [conv(features, 3)]
        self.body = nn.Sequential(*body)
        # He initialisation and a zero last layer (start as the identity): with PyTorch's default
        # the signal shrinks ~3× per layer and a plain ReLU stack barely trains in a CPU budget
        for layer in self.body:
            if isinstance(layer, nn.Conv2d):
                nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
                nn.init.zeros_(layer.bias)
        nn.init.zeros_(self.body[-1].weight)

    def forward(self, x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        """x (N, 3, H, W) noisy, sigma (N,) noise std in [0, 1] units → denoised (the network predicts the noise)."""
        level = sigma.view(-1, 1, 1, 1).to(x.dtype).expand(-1, 1, *x.shape[-2:])
        return x - self.body(torch.cat([x * 2 - 1, level * 4], 1))


class Down(nn.Module):
    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(in_channels, out_channels, 4, 2, 1), nn.LeakyReLU(0.2), conv(out_channels, out_channels), nn.LeakyReLU(0.2))

    def forward(self, x):
        return self.body(x)


class Up(nn.Module):
    def __init__(self, in_channels: int, skip_channels: int, out_channels: int):
        super().__init__()
        self.body = nn.Sequential(conv(in_channels + skip_channels, out_channels), nn.LeakyReLU(0.2), conv(out_channels, out_channels), nn.LeakyReLU(0.2))

    def forward(self, x, skip):
        x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
        return self.body(torch.cat([x, skip], 1))


class UNet(nn.Module):
    """Encoder–decoder with skips; `dilations` add context at the lowest resolution."""

    def __init__(self, in_channels: int, out_channels: int, channels: tuple, dilations: tuple = ()):
        super().__init__()
        self.stem = nn.Sequential(conv(in_channels, channels[0]), nn.LeakyReLU(0.2))
        self.downs = nn.ModuleList(Down(a, b) for a, b in zip(channels[:-1], channels[1:]))
        self.middle = nn.Sequential(*(m for d in dilations for m in (conv(channels[-1], channels[-1], d), nn.LeakyReLU(0.2))))
        self.ups = nn.ModuleList(Up(b, a, a) for a, b in zip(reversed(channels[:-1]), reversed(channels[1:])))
        self.out = nn.Conv2d(channels[0], out_channels, 3, padding=1)

    def forward(self, x):
        skips = [self.stem(x)]
        for down in self.downs:
            skips.append(down(skips[-1]))
        x = self.middle(skips.pop())
        for up in self.ups:
            x = up(x, skips.pop())
        return self.out(x)


class Inpainter(ModelMixin, ConfigMixin):
    @register_to_config
    def __init__(self, channels: tuple = (32, 64, 128, 128), dilations: tuple = (2, 4, 8, 1)):
        super().__init__()
        self.unet = UNet(7, 3, tuple(channels), tuple(dilations))
        nn.init.zeros_(self.unet.out.weight)  # start as the classical fill, learn only what improves it
        nn.init.zeros_(self.unet.out.bias)

    def forward(self, x: torch.Tensor, mask: torch.Tensor, initial: torch.Tensor) -> torch.Tensor:
        """x (N, 3, H, W), mask (N, 1, H, W) with 1 = repair, `initial`: a classical fill of the hole
        (OpenCV Telea, `enhance.degrade.telea`) → x with the hole filled by initial + a learned correction."""
        holed = x * (1 - mask) + initial * mask
        fill = initial + self.unet(torch.cat([holed * 2 - 1, initial * 2 - 1, mask], 1))
        return x * (1 - mask) + fill.clamp(0, 1) * mask


class Segmenter(ModelMixin, ConfigMixin):
    @register_to_config
    def __init__(self, channels: tuple = (16, 32, 64, 96), dilations: tuple = (2, 4)):
        super().__init__()
        self.unet = UNet(3, 1, tuple(channels), tuple(dilations))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (N, 3, H, W) → product-mask logits (N, 1, H, W)."""
        return self.unet(x * 2 - 1)


def srgb_to_linear(srgb):
    """sRGB in [0, 1] → linear light (numpy arrays or tensors)."""
    low = srgb <= 0.04045
    return low * (srgb / 12.92) + ~low * ((srgb.clip(0.04045, None) + 0.055) / 1.055) ** 2.4


def linear_to_srgb(linear):
    """Linear light → sRGB in [0, 1], clipped (numpy arrays or tensors)."""
    linear = linear.clip(0, 1)
    low = linear <= 0.0031308
    return low * (linear * 12.92) + ~low * (1.055 * linear.clip(0.0031308, None) ** (1 / 2.4) - 0.055)


def log2_gains(shift: torch.Tensor) -> torch.Tensor:
    """A tone shift (N, 3) = (exposure in stops, warm–cool, green–magenta) → log2 gains on linear R, G, B."""
    ev, warm, tint = shift.unbind(1)
    return torch.stack([ev + warm, ev + tint, ev - warm], 1)


class ToneEstimator(ModelMixin, ConfigMixin):
    @register_to_config
    def __init__(self, chroma_bins: int = 12, luminance_bins: int = 16, hidden: int = 128, size: int = 128):
        super().__init__()
        features = chroma_bins ** 2 + luminance_bins + 3 + 1
        self.mlp = nn.Sequential(nn.Linear(features, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, 3))

    @torch.no_grad()
    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Per photo: the luminance-weighted histogram of log chroma (log G/R, log G/B; clipped pixels
        left out), the histogram of log luminance, the log chroma of the mean colour and the log median luminance."""
        n, bins, lbins = len(x), self.config.chroma_bins, self.config.luminance_bins
        linear = srgb_to_linear(x.float()).flatten(2) + 1e-4                        # (N, 3, P)
        luminance = (linear * torch.tensor([0.2126, 0.7152, 0.0722], device=x.device).view(1, 3, 1)).sum(1)
        unclipped = (linear.amax(1) < 0.98).float()
        u, v = (torch.log2(linear[:, 1] / linear[:, c]) for c in (0, 2))
        to_bin = lambda value, low, high, count: ((value - low) / (high - low) * count).long().clamp(0, count - 1)
        first = torch.arange(n, device=x.device).view(n, 1)  # each photo's own stretch of bins
        cell = to_bin(u, -2, 2, bins) * bins + to_bin(v, -2, 2, bins) + first * bins ** 2
        chroma = torch.bincount(cell.flatten(), (luminance.sqrt() * unclipped).flatten(), n * bins ** 2).view(n, -1)
        chroma = chroma / chroma.sum(1, keepdim=True).clamp_min(1e-6)
        lcell = to_bin(torch.log2(luminance), -12, 0, lbins) + first * lbins
        lhist = torch.bincount(lcell.flatten(), minlength=n * lbins).view(n, -1).float() / luminance.shape[1]
        mean = torch.log2(linear.mean(2))
        return torch.cat([chroma.sqrt(), lhist.sqrt(), mean - mean[:, 1:2], torch.log2(luminance.median(1).values).unsqueeze(1)], 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (N, 3, H, W) sRGB in [0, 1] → the shift (N, 3) that would turn a typical photo into it:
        exposure (stops), warm–cool and green–magenta (stops of R/B and G gain); undo it with −shift."""
        return self.mlp(self.features(x))


SHIPPED = {"sr": "sr-photos", "denoise": "denoise-photos", "inpaint": "inpaint-photos", "segment": "segment-products", "tone": "tone-photos"}
CLASSES = {"sr": SuperResolution, "denoise": Denoiser, "inpaint": Inpainter, "segment": Segmenter, "tone": ToneEstimator}


@lru_cache(maxsize=8)
def load_shipped(kind: str, folder=None) -> ModelMixin:
    """The shipped model of one kind (checkpoints/<name>), or another exported folder; loaded once per process."""
    from pathlib import Path

    from core.checkpoints import load_pretrained
    from core.devices import inference_device

    folder = Path(folder) if folder else Path(__file__).resolve().parent.parent / "checkpoints" / SHIPPED[kind]
    return load_pretrained(CLASSES[kind], folder, inference_device())
