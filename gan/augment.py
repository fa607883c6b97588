"""Differentiable augmentation (Zhao et al. 2020): the same random transform is applied to real and
generated images before the discriminator, so D cannot overfit a small dataset and G still gets
gradients through it. Policies: color, translation, cutout (comma-separated).

Adaptive augmentation (ADA, Karras et al. 2020): each image is augmented with a probability p that
training raises while the discriminator is too sure of the real images (the mean sign of its scores
on them above a target) and lowers otherwise, so a run that sees few images per picture trains
unaugmented and one that sees many gets the augmentation it needs when it needs it.

Mirroring (`mirrored`) is not differentiable augmentation: only the real images are mirrored."""
from __future__ import annotations

import torch
import torch.nn.functional as F

POLICIES = ("color", "translation", "cutout")


def _color(x, g):
    n = len(x)
    rand = lambda: torch.rand(n, 1, 1, 1, generator=g).to(x)
    x = x + (rand() - 0.5)
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * (rand() * 2) + mean
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (rand() + 0.5) + mean


def _translation(x, g, ratio=0.125):
    n = len(x)
    shift = (torch.rand(n, 2, generator=g) * 2 - 1).to(x) * ratio * 2  # in [-1, 1] grid units
    theta = torch.zeros(n, 2, 3, dtype=x.dtype, device=x.device)
    theta[:, 0, 0] = theta[:, 1, 1] = 1
    theta[:, :, 2] = shift
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    # border padding repeats the edge: white stays white for catalog photos
    return F.grid_sample(x, grid, mode="nearest", padding_mode="border", align_corners=False)


def _cutout(x, g, ratio=0.5):
    n, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    top = torch.randint(0, h - ch + 1, (n, 1, 1), generator=g)
    left = torch.randint(0, w - cw + 1, (n, 1, 1), generator=g)
    rows = torch.arange(h).view(1, h, 1)
    cols = torch.arange(w).view(1, 1, w)
    hole = (rows >= top) & (rows < top + ch) & (cols >= left) & (cols < left + cw)
    return x * (~hole).unsqueeze(1).to(x)


ADA_IMAGES = 500_000  # p can climb from 0 to 1 over this many real images (the paper's speed)


def diff_augment(x: torch.Tensor, policy: str, generator: torch.Generator, probability: float = 1.0) -> torch.Tensor:
    """`x` with the policy's transforms, each image transformed with `probability` (else left as it is)."""
    if probability <= 0:
        return x
    augmented = x
    for name in filter(None, policy.split(",")):
        augmented = {"color": _color, "translation": _translation, "cutout": _cutout}[name](augmented, generator)
    if probability >= 1:
        return augmented
    return torch.where(_per_image_coin(x, generator, probability), augmented, x)


def mirrored(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """`x` with each image mirrored left-right with probability 1/2 (StyleGAN's --mirror): a dataset
    augmentation for the real images only, so what G learns is the catalog and its mirror image."""
    return torch.where(_per_image_coin(x, generator, 0.5), x.flip(3), x)


def _per_image_coin(x: torch.Tensor, generator: torch.Generator, probability: float) -> torch.Tensor:
    """A (N, 1, 1, 1) mask on `x`'s device, true for each image with `probability`: one draw per image."""
    return (torch.rand(len(x), 1, 1, 1, generator=generator) < probability).to(x.device)


def adapted_probability(probability: float, real_sign: float, target: float, images: int) -> float:
    """ADA's update after `images` real images whose scores had mean sign `real_sign`: up when the
    discriminator calls more of the real images real than `target` says it should, down otherwise."""
    step = images / ADA_IMAGES if real_sign > target else -images / ADA_IMAGES
    return min(max(probability + step, 0.0), 1.0)


def check_policy(policy: str) -> str:
    unknown = [p for p in filter(None, policy.split(",")) if p not in POLICIES]
    if unknown:
        raise ValueError(f"unknown augmentation {unknown}; choose from {', '.join(POLICIES)}")
    return policy
