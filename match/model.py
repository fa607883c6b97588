"""Text–image matching: trainable projection heads on two frozen towers (CLIP-style, Radford et al. 2021).

Text tower: MiniLM sentence embeddings (384-d, `core.text`). Image tower: EfficientNet-Lite0
mean-pooled features (1280-d, `core.features`) at `image_size` px. Each head maps its tower into
a shared unit sphere; the score of a (text, image) pair is their cosine, in [−1, 1]. Trained with
the symmetric InfoNCE loss and a learned temperature.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from diffusers import ConfigMixin, ModelMixin
from diffusers.configuration_utils import register_to_config


def head(in_features: int, hidden: int, out_features: int) -> nn.Sequential:
    return nn.Sequential(nn.LayerNorm(in_features), nn.Linear(in_features, hidden), nn.GELU(), nn.Linear(hidden, out_features))


class MatchingHeads(ModelMixin, ConfigMixin):
    @register_to_config
    def __init__(self, text_dim: int = 384, image_dim: int = 1280, hidden: int = 1024, embed_dim: int = 256, image_size: int = 96):
        super().__init__()
        self.text = head(text_dim, hidden, embed_dim)
        self.image = head(image_dim, hidden, embed_dim)
        self.log_temperature_inv = nn.Parameter(torch.tensor(math.log(1 / 0.07)))

    def embed_text(self, text_features: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.text(text_features), dim=-1)

    def embed_image(self, image_features: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.image(image_features), dim=-1)

    def forward(self, text_features: torch.Tensor, image_features: torch.Tensor) -> torch.Tensor:
        """(N, text_dim), (M, image_dim) → (N, M) cosine similarities."""
        return self.embed_text(text_features) @ self.embed_image(image_features).T



def contrastive_loss(scores: torch.Tensor, log_temperature_inv: torch.Tensor) -> torch.Tensor:
    """Symmetric InfoNCE over the (N, N) scores of N matching pairs (the diagonal), temperature ≥ 0.01."""
    logits = scores * log_temperature_inv.clamp(max=math.log(100)).exp()
    target = torch.arange(len(logits), device=logits.device)
    return (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2
