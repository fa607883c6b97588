"""The VAE, 64×64, as a plain diffusers `ModelMixin` (save_pretrained/from_pretrained, safetensors).

One compact latent vector (128-d by default) so that sliders can move it: a strided-conv encoder
to 4×4, a linear layer to (μ, log σ²), and a transposed-conv decoder mirroring the GAN generator
(the cheapest upsampling on a CPU), ending in a 3×3 convolution that sharpens at full resolution.
With `classes`, a linear head reads metadata classes (one block of logits per column) from μ:
trained with it, each class lies along a line in the latent, which is what a named slider moves along.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F
from diffusers import ConfigMixin, ModelMixin
from diffusers.configuration_utils import register_to_config


def down(in_channels: int, out_channels: int, norm: bool = True) -> nn.Sequential:
    layers = [nn.Conv2d(in_channels, out_channels, 4, 2, 1, bias=not norm)]
    if norm:
        layers.append(nn.BatchNorm2d(out_channels))
    return nn.Sequential(*layers, nn.LeakyReLU(0.2))


def up(in_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(nn.ConvTranspose2d(in_channels, out_channels, 4, 2, 1, bias=False), nn.BatchNorm2d(out_channels), nn.ReLU())


class VAE(ModelMixin, ConfigMixin):
    @register_to_config
    def __init__(self, resolution: int = 64, latent_dim: int = 128, channels: tuple = (64, 128, 256, 512), classes: tuple = ()):
        super().__init__()
        if resolution != 4 * 2 ** len(channels):
            raise ValueError(f"{len(channels)} stages give {4 * 2 ** len(channels)} px, not {resolution}")
        self.encoder = nn.Sequential(*(down(a, b, norm=i > 0) for i, (a, b) in enumerate(zip((3,) + tuple(channels[:-1]), channels))))
        self.to_moments = nn.Linear(channels[-1] * 16, 2 * latent_dim)
        self.from_latent = nn.Linear(latent_dim, channels[-1] * 16)
        self.stem_norm = nn.BatchNorm2d(channels[-1])
        reversed_channels = tuple(reversed(channels))
        self.decoder = nn.Sequential(*(up(a, b) for a, b in zip(reversed_channels, reversed_channels[1:] + (channels[0] // 4,))))
        self.to_rgb = nn.Conv2d(channels[0] // 4, 3, 3, padding=1)
        self.classifier = nn.Linear(latent_dim, sum(classes)) if classes else None

    def encode(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """images (N, 3, H, W) in [-1, 1] → (μ, log σ²), each (N, latent_dim)."""
        h = self.encoder(images).flatten(1)
        mean, log_var = self.to_moments(h).chunk(2, dim=1)
        return mean, log_var.clamp(-30, 20)

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        """latents (N, latent_dim) → images (N, 3, H, W) in [-1, 1]."""
        x = self.from_latent(latents).view(len(latents), -1, 4, 4)
        x = self.decoder(F.relu(self.stem_norm(x)))
        return torch.tanh(self.to_rgb(x))

    def forward(self, images: torch.Tensor, generator: torch.Generator | None = None):
        """Reconstruct with the reparameterisation trick; returns (reconstruction, μ, log σ²,
        class logits from μ or None without `classes`)."""
        mean, log_var = self.encode(images)
        noise = torch.randn(mean.shape, generator=generator).to(mean.device, mean.dtype)
        logits = self.classifier(mean) if self.classifier is not None else None
        return self.decode(mean + noise * (0.5 * log_var).exp()), mean, log_var, logits
