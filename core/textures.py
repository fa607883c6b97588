"""Procedural textures: stripes, checks, dots, marble, zigzags and camouflage in random palettes.

Fabric-like patterns we own outright: styles the style decoder trains on, prints on the products
the segmenter trains on, and the example styles of the Style tab. Every function takes a
`torch.Generator`, so a training step's textures are reproducible (exact resume).
"""
from __future__ import annotations

import math
from pathlib import Path

import torch
import torch.nn.functional as F
from PIL import Image

from core.images import to_pil

KINDS = ("stripes", "checks", "dots", "marble", "zigzag", "camouflage")


def rand(g: torch.Generator, low: float = 0.0, high: float = 1.0) -> float:
    return low + (high - low) * float(torch.rand((), generator=g))


def palette(n: int, g: torch.Generator) -> torch.Tensor:
    """n colours (n, 3) in [0, 1]: random hues, saturations and values, one of them often light."""
    hsv = torch.rand(n, 3, generator=g) * torch.tensor([1.0, 0.8, 0.7]) + torch.tensor([0.0, 0.2, 0.3])
    h, s, v = hsv[:, 0:1] * 6, hsv[:, 1:2], hsv[:, 2:3]
    k = (torch.tensor([5.0, 3.0, 1.0]) + h) % 6
    return v - v * s * (torch.minimum(k, 4 - k).clamp(0, 1))


def coordinates(size: int, g: torch.Generator, period: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Rotated pixel coordinates in units of `period`."""
    angle = rand(g, 0, math.pi)
    y, x = torch.meshgrid(torch.arange(size, dtype=torch.float32), torch.arange(size, dtype=torch.float32), indexing="ij")
    u = (x * math.cos(angle) + y * math.sin(angle)) / period
    v = (-x * math.sin(angle) + y * math.cos(angle)) / period
    return u, v


def smooth_noise(size: int, g: torch.Generator, cells: int) -> torch.Tensor:
    """Value noise in [0, 1] with about `cells` blobs across, (size, size)."""
    coarse = torch.rand(1, 1, cells + 1, cells + 1, generator=g)
    return F.interpolate(coarse, size=(size, size), mode="bicubic", align_corners=True)[0, 0].clamp(0, 1)


def colourise(levels: torch.Tensor, colours: torch.Tensor) -> torch.Tensor:
    """levels in [0, 1] (H, W) → image (3, H, W) blending through the colours in order."""
    position = levels.clamp(0, 1) * (len(colours) - 1)
    low = position.floor().long().clamp(max=len(colours) - 2)
    t = (position - low)[None]
    return colours[low].permute(2, 0, 1) * (1 - t) + colours[low + 1].permute(2, 0, 1) * t


def texture(kind: str, size: int, g: torch.Generator) -> torch.Tensor:
    """One texture (3, size, size) in [0, 1]."""
    colours = palette(3, g)
    period = rand(g, size / 24, size / 5)
    u, v = coordinates(size, g, period)
    sharp = lambda wave: torch.sigmoid(wave * rand(g, 3, 30))
    if kind == "stripes":
        return colourise(sharp(torch.sin(2 * math.pi * u)), colours[:2])
    if kind == "checks":
        a, b = sharp(torch.sin(2 * math.pi * u)), sharp(torch.sin(2 * math.pi * v))
        return colourise((a + b) / 2, colours)
    if kind == "dots":
        fu, fv = u - u.round(), v - v.round()
        radius = rand(g, 0.15, 0.4)
        return colourise(sharp((radius - (fu.square() + fv.square()).sqrt()) * 10), colours[:2])
    if kind == "marble":
        warp = smooth_noise(size, g, int(rand(g, 3, 8))) * rand(g, 2, 8)
        return colourise((torch.sin(2 * math.pi * u + warp) + 1) / 2, colours)
    if kind == "zigzag":
        return colourise(sharp(torch.sin(2 * math.pi * (u + 0.5 * (v - v.floor() - 0.5).abs()))), colours[:2])
    if kind == "camouflage":
        levels = smooth_noise(size, g, int(rand(g, 4, 12)))
        return colourise((levels * 2.99).floor() / 2, colours)
    raise ValueError(f"unknown texture {kind!r}; choose from {', '.join(KINDS)}")


def random_textures(n: int, size: int, g: torch.Generator) -> torch.Tensor:
    kinds = torch.randint(len(KINDS), (n,), generator=g).tolist()
    return torch.stack([texture(KINDS[k], size, g) for k in kinds])


def example_styles(size: int = 256) -> dict[str, Image.Image]:
    """The Style tab's example styles: one of each kind, fixed seeds."""
    out = {}
    for seed, kind in enumerate(KINDS):
        out[kind] = to_pil(texture(kind, size, torch.Generator().manual_seed(1000 + seed)))
    return out


def write_example_styles(folder: Path) -> list[str]:
    """Save the example styles as PNGs in `folder` (for the app's examples); returns their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, image in example_styles().items():
        image.save(folder / f"{name}.png")
        paths.append(str(folder / f"{name}.png"))
    return paths
