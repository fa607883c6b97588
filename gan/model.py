"""GAN models, 64×64, as plain diffusers `ModelMixin`s (save_pretrained/from_pretrained, safetensors).

- `ConditionalGenerator`: noise + text embedding → image. The embedding is projected and joined to
  the noise; every block is modulated by it through conditional BatchNorm (BigGAN-style).
- `ProjectionDiscriminator`: spectral-normalised CNN whose score adds ⟨embed(text), features⟩
  (Miyato & Koyama 2018) to an unconditional score. Trained with the hinge loss.
- `DCGANGenerator` / `DCGANDiscriminator`: Radford et al. 2015, unconditional, the baseline.

`cond_dim=0` makes the conditional pair unconditional (a folder without captions).
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F
from diffusers import ConfigMixin, ModelMixin
from diffusers.configuration_utils import register_to_config

SN = nn.utils.spectral_norm


class ConditionalBatchNorm(nn.Module):
    """BatchNorm without its own affine; scale and shift come from the conditioning vector."""

    def __init__(self, channels: int, cond_features: int):
        super().__init__()
        self.norm = nn.BatchNorm2d(channels, affine=False)
        self.affine = nn.Linear(cond_features, 2 * channels)
        nn.init.zeros_(self.affine.weight)
        nn.init.zeros_(self.affine.bias)

    def forward(self, x, w):
        gamma, beta = self.affine(w).unsqueeze(-1).unsqueeze(-1).chunk(2, dim=1)
        return self.norm(x) * (1 + gamma) + beta


class UpBlock(nn.Module):
    """×2 nearest upsample → 3×3 conv → conditional BN → ReLU (nearest + conv avoids checkerboards)."""

    def __init__(self, in_channels: int, out_channels: int, cond_features: int):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False)
        self.norm = ConditionalBatchNorm(out_channels, cond_features)

    def forward(self, x, w):
        return F.relu(self.norm(self.conv(F.interpolate(x, scale_factor=2, mode="nearest")), w))


class ConditionalGenerator(ModelMixin, ConfigMixin):
    @register_to_config
    def __init__(self, resolution: int = 64, noise_dim: int = 128, cond_dim: int = 384,
                 cond_embed_dim: int = 128, channels: tuple = (512, 256, 128, 64, 32)):
        super().__init__()
        if resolution != 4 * 2 ** (len(channels) - 1):
            raise ValueError(f"{len(channels)} channel entries give {4 * 2 ** (len(channels) - 1)} px, not {resolution}")
        self.cond_embed = nn.Linear(cond_dim, cond_embed_dim) if cond_dim else None
        w_dim = noise_dim + (cond_embed_dim if cond_dim else 0)
        self.stem = nn.Linear(w_dim, channels[0] * 16)
        self.stem_norm = ConditionalBatchNorm(channels[0], w_dim)
        self.blocks = nn.ModuleList(UpBlock(a, b, w_dim) for a, b in zip(channels[:-1], channels[1:]))
        self.to_rgb = nn.Conv2d(channels[-1], 3, 3, padding=1)

    def forward(self, noise: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        """noise (N, noise_dim), cond (N, cond_dim) → images (N, 3, H, W) in [-1, 1]."""
        w = noise if self.cond_embed is None else torch.cat([noise, self.cond_embed(cond)], dim=1)
        x = self.stem(w).view(len(w), -1, 4, 4)
        x = F.relu(self.stem_norm(x, w))
        for block in self.blocks:
            x = block(x, w)
        return torch.tanh(self.to_rgb(x))


class ProjectionDiscriminator(ModelMixin, ConfigMixin):
    @register_to_config
    def __init__(self, resolution: int = 64, cond_dim: int = 384, channels: tuple = (64, 128, 256, 512)):
        super().__init__()
        if resolution != 4 * 2 ** len(channels):
            raise ValueError(f"{len(channels)} stages give {4 * 2 ** len(channels)} px, not {resolution}")
        layers, previous = [SN(nn.Conv2d(3, channels[0] // 2, 3, padding=1)), nn.LeakyReLU(0.2)], channels[0] // 2
        for c in channels:
            layers += [SN(nn.Conv2d(previous, c, 4, stride=2, padding=1)), nn.LeakyReLU(0.2)]
            previous = c
        self.features = nn.Sequential(*layers)
        self.score = SN(nn.Linear(previous, 1))
        self.cond_embed = SN(nn.Linear(cond_dim, previous, bias=False)) if cond_dim else None

    def forward(self, images: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        h = self.features(images).sum(dim=(2, 3))
        out = self.score(h).squeeze(1)
        if self.cond_embed is not None:
            out = out + (self.cond_embed(cond) * h).sum(dim=1)
        return out


class DCGANGenerator(ModelMixin, ConfigMixin):
    @register_to_config
    def __init__(self, resolution: int = 64, noise_dim: int = 100, base_channels: int = 64):
        super().__init__()
        if resolution != 64:
            raise ValueError("the DCGAN baseline is defined at 64×64")
        c = base_channels
        self.net = nn.Sequential(
            nn.ConvTranspose2d(noise_dim, c * 8, 4, 1, 0, bias=False), nn.BatchNorm2d(c * 8), nn.ReLU(True),
            nn.ConvTranspose2d(c * 8, c * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(c * 4), nn.ReLU(True),
            nn.ConvTranspose2d(c * 4, c * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(c * 2), nn.ReLU(True),
            nn.ConvTranspose2d(c * 2, c, 4, 2, 1, bias=False), nn.BatchNorm2d(c), nn.ReLU(True),
            nn.ConvTranspose2d(c, 3, 4, 2, 1, bias=False), nn.Tanh(),
        )
        for m in self.modules():  # the paper's N(0, 0.02) initialisation
            if isinstance(m, nn.ConvTranspose2d):
                nn.init.normal_(m.weight, 0.0, 0.02)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.normal_(m.weight, 1.0, 0.02)
                nn.init.zeros_(m.bias)

    def forward(self, noise: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(noise.view(len(noise), -1, 1, 1))


class DCGANDiscriminator(ModelMixin, ConfigMixin):
    @register_to_config
    def __init__(self, resolution: int = 64, base_channels: int = 64):
        super().__init__()
        c = base_channels
        self.net = nn.Sequential(
            nn.Conv2d(3, c, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True),
            nn.Conv2d(c, c * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(c * 2), nn.LeakyReLU(0.2, True),
            nn.Conv2d(c * 2, c * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(c * 4), nn.LeakyReLU(0.2, True),
            nn.Conv2d(c * 4, c * 8, 4, 2, 1, bias=False), nn.BatchNorm2d(c * 8), nn.LeakyReLU(0.2, True),
            nn.Conv2d(c * 8, 1, 4, 1, 0, bias=False),
        )
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.normal_(m.weight, 0.0, 0.02)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.normal_(m.weight, 1.0, 0.02)
                nn.init.zeros_(m.bias)

    def forward(self, images: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(images).view(-1)


ARCHITECTURES = {
    "sngan": (ConditionalGenerator, ProjectionDiscriminator),
    "dcgan": (DCGANGenerator, DCGANDiscriminator),
}
