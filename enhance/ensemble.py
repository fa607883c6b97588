"""Flip self-ensemble (Lim et al. 2017, "EDSR+"), a test-time augmentation: run a network on the
image and on its mirror images, map each result back and average. The mirrored passes are equally
good estimates whose errors are partly independent, so the average is better than any one of them,
at the cost of one forward pass per flip."""
from __future__ import annotations

from typing import Callable

import torch

ALL_FLIPS = ((), (3,), (2,), (2, 3))  # suits content without an up and a down (a patch of fabric, a wall)


def flip_ensemble(fn: Callable[..., torch.Tensor], *images: torch.Tensor, flips=ALL_FLIPS) -> torch.Tensor:
    """Mean of fn(*flipped images) flipped back; every input (N, C, H, W) is flipped alike."""
    total = 0
    for dims in flips:
        out = fn(*(x.flip(dims) for x in images)) if dims else fn(*images)
        total = total + (out.flip(dims) if dims else out)
    return total / len(flips)
