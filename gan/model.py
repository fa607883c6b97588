"""GAN models, 64×64, as plain diffusers `ModelMixin`s (save_pretrained/from_pretrained, safetensors).

- `ConditionalGenerator`: noise + text embedding → image. DCGAN's transposed-conv backbone (the
  fastest upsampling on a CPU); the projected text embedding joins the noise and modulates every
  block through conditional BatchNorm (BigGAN-style).
- `ProjectionDiscriminator`: spectral-normalised convolutions, BatchNorm on real and fake batches
  apart (as in DCGAN), a minibatch-stddev feature, and a score that adds ⟨embed(text), features⟩
  (Miyato & Koyama 2018) to an unconditional one. Trained with the hinge loss. Optional classifier
  heads for metadata columns (articleType, baseColour, …; AC-GAN, Odena et al. 2017) share its features,
  and so can the scores of the same images under other texts (`--mismatch`).
- `DCGANGenerator` / `DCGANDiscriminator`: Radford et al. 2015, unconditional, the baseline.

`cond_dim=0` makes the conditional pair unconditional (a folder without captions).

Why BatchNorm in a spectral-norm D: on this data and budget, the pure SN discriminator could not keep
up with the generator (hinge loss stuck near 2, every sample the same product); BatchNorm over
all-real and all-fake batches plus minibatch stddev let D see a collapsed batch at once.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F
from diffusers import ConfigMixin, ModelMixin
from diffusers.configuration_utils import register_to_config

SN = nn.utils.spectral_norm


def unit_variance(embedding: torch.Tensor) -> torch.Tensor:
    """Unit-norm text embeddings have components of size ~1/√d, ~20× weaker than the noise at
    initialisation; rescaling to unit variance per component lets G use the text from the start."""
    return embedding * embedding.shape[1] ** 0.5


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


UPSAMPLING = ("transposed", "nearest")


def fold_3x3(weight: torch.Tensor, dim: int) -> torch.Tensor:
    """Along one axis, nearest ×2 then taps (a, b, c) = the 4-tap stride-2 transposed kernel
    (c, b + c, a + b, a): an even output pixel reads its own input pixel through b + c and the one
    before through a, an odd one its own through a + b and the next through c."""
    a, b, c = weight.unbind(dim)
    return torch.stack([c, b + c, a + b, a], dim)


class NearestUpsampleConv(nn.Module):
    """Nearest-neighbour ×2 upsampling then a 3×3 conv (no checkerboard pattern, Odena et al. 2016),
    computed as the equal 4×4 stride-2 transposed conv whose taps are sums of the 3×3 kernel's: the
    same outputs and gradients at 4/9 of the multiply-adds (every output pixel reads only 2×2 inputs)."""

    def __init__(self, in_channels: int, out_channels: int, bias: bool):
        super().__init__()
        conv = nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=bias)  # for its initialisation
        self.weight, self.bias = conv.weight, conv.bias

    def forward(self, x):
        kernel = fold_3x3(fold_3x3(self.weight, 2), 3).transpose(0, 1)  # (in, out, 4, 4), as conv_transpose2d wants
        return F.conv_transpose2d(x, kernel, self.bias, stride=2, padding=1)


def upsampling_conv(in_channels: int, out_channels: int, upsample: str, bias: bool) -> nn.Module:
    """×2: a 4×4 stride-2 transposed conv (DCGAN's), or nearest-neighbour upsampling then a 3×3 conv
    (the same cost, fewer free taps)."""
    if upsample == "transposed":
        return nn.ConvTranspose2d(in_channels, out_channels, 4, 2, 1, bias=bias)
    return NearestUpsampleConv(in_channels, out_channels, bias)


class UpBlock(nn.Module):
    """×2 upsampling conv → conditional BN → ReLU."""

    def __init__(self, in_channels: int, out_channels: int, cond_features: int, upsample: str = "transposed"):
        super().__init__()
        self.conv = upsampling_conv(in_channels, out_channels, upsample, bias=False)
        self.norm = ConditionalBatchNorm(out_channels, cond_features)

    def forward(self, x, w):
        return F.relu(self.norm(self.conv(x), w))


class ConditionalGenerator(ModelMixin, ConfigMixin):
    @register_to_config
    def __init__(self, resolution: int = 64, noise_dim: int = 128, cond_dim: int = 384,
                 cond_embed_dim: int = 128, channels: tuple = (512, 256, 128, 64), upsample: str = "transposed"):
        super().__init__()
        if resolution != 4 * 2 ** len(channels):
            raise ValueError(f"{len(channels)} channel entries give {4 * 2 ** len(channels)} px, not {resolution}")
        if upsample not in UPSAMPLING:
            raise ValueError(f"upsample={upsample!r}: choose one of {', '.join(UPSAMPLING)}")
        self.cond_embed = nn.Linear(cond_dim, cond_embed_dim) if cond_dim else None
        w_dim = noise_dim + (cond_embed_dim if cond_dim else 0)
        self.stem = nn.Linear(w_dim, channels[0] * 16)
        self.stem_norm = ConditionalBatchNorm(channels[0], w_dim)
        self.blocks = nn.ModuleList(UpBlock(a, b, w_dim, upsample) for a, b in zip(channels[:-1], channels[1:]))
        self.to_rgb = upsampling_conv(channels[-1], 3, upsample, bias=True)

    def mapping(self, noise: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        """noise (N, noise_dim), cond (N, cond_dim) → the latent w = [noise, projected text] that
        every block reads; latent-space sliders move w."""
        return noise if self.cond_embed is None else torch.cat([noise, self.cond_embed(unit_variance(cond))], dim=1)

    def stem_features(self, w: torch.Tensor) -> torch.Tensor:
        """The 4×4 first-layer activations (GANSpace's PCA runs on these)."""
        return F.relu(self.stem_norm(self.stem(w).view(len(w), -1, 4, 4), w))

    def synthesis(self, w: torch.Tensor) -> torch.Tensor:
        """w (N, w_dim) → images (N, 3, H, W) in [-1, 1]."""
        x = self.stem_features(w)
        for block in self.blocks:
            x = block(x, w)
        return torch.tanh(self.to_rgb(x))

    def forward(self, noise: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        """noise (N, noise_dim), cond (N, cond_dim) → images (N, 3, H, W) in [-1, 1]."""
        return self.synthesis(self.mapping(noise, cond))


class MinibatchStd(nn.Module):
    """Appends the across-batch standard deviation as a feature map (Karras et al. 2018): a collapsed
    batch of fakes is then easy for D to spot, which keeps G from collapsing to one product."""

    def __init__(self, group: int = 4):
        super().__init__()
        self.group = group

    def forward(self, x):
        n, c, h, w = x.shape
        g = min(self.group, n)
        if n % g:
            g = 1
        std = self.group_std(x.float().view(g, -1, c, h, w))
        return torch.cat([x, std.to(x.dtype).view(-1, 1, 1, 1).repeat(g, 1, h, w)], dim=1)

    @staticmethod
    def group_std(groups: torch.Tensor) -> torch.Tensor:
        """(g, n/g, c, h, w) → (n/g,): the standard deviation across the g groups, averaged over features.
        The variance is written out: torch's var over this leading axis is ~5× slower on a CPU (a fifth of D's time)."""
        return (groups - groups.mean(dim=0)).square().mean(dim=0).add(1e-8).sqrt().mean(dim=(1, 2, 3))


class ProjectionDiscriminator(ModelMixin, ConfigMixin):
    @register_to_config
    def __init__(self, resolution: int = 64, cond_dim: int = 384, channels: tuple = (64, 128, 256, 512),
                 batch_norm: bool = True, minibatch_std: bool = True, classes: tuple = ()):
        super().__init__()
        if resolution != 4 * 2 ** len(channels):
            raise ValueError(f"{len(channels)} stages give {4 * 2 ** len(channels)} px, not {resolution}")
        layers, previous = [], 3
        for i, c in enumerate(channels):
            layers += [SN(nn.Conv2d(previous, c, 4, stride=2, padding=1))]
            if batch_norm and i > 0:
                layers += [nn.BatchNorm2d(c)]
            layers += [nn.LeakyReLU(0.2)]
            previous = c
        if minibatch_std:
            layers += [MinibatchStd(), SN(nn.Conv2d(previous + 1, previous, 3, padding=1)), nn.LeakyReLU(0.2)]
        self.features = nn.Sequential(*layers)
        # The convolutions are spectral-normalised; the two output heads are not: SN layers shrink
        # activations ~3× each, and SN heads could then never reach the hinge margins (D loss stuck at 2).
        self.score = nn.Linear(previous, 1)
        self.cond_embed = nn.Linear(cond_dim, previous, bias=False) if cond_dim else None
        self.classifier = nn.Linear(previous, sum(classes)) if classes else None  # one head per column, concatenated

    def forward(self, images: torch.Tensor, cond: torch.Tensor | None = None, classify: bool = False,
                other_cond: torch.Tensor | None = None):
        """The realness score (N,). With `classify`, also the class logits (N, sum(classes)); with
        `other_cond`, also the scores of the same images under those texts, from the same features
        (no second pass). Extras follow the score in that order."""
        h = self.features(images).sum(dim=(2, 3))
        unconditional = self.score(h).squeeze(1)
        projection = lambda c: unconditional if self.cond_embed is None else unconditional + (self.cond_embed(c) * h).sum(dim=1)
        score = projection(cond)
        extras = ([self.classifier(h)] if classify else []) + ([projection(other_cond)] if other_cond is not None else [])
        return (score, *extras) if extras else score


def dcgan_init(m: nn.Module) -> None:
    """The paper's initialisation: convolutions N(0, 0.02), BatchNorm scales N(1, 0.02)."""
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(m.weight, 0.0, 0.02)
    elif isinstance(m, nn.BatchNorm2d):
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


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
        self.apply(dcgan_init)

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
        self.apply(dcgan_init)

    def forward(self, images: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(images).view(-1)


ARCHITECTURES = {
    "sngan": (ConditionalGenerator, ProjectionDiscriminator),
    "dcgan": (DCGANGenerator, DCGANDiscriminator),
}
