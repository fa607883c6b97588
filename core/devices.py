"""The one place that decides device and precision: Accelerate, with CUDA mixed precision when present."""
from __future__ import annotations

import torch


def default_mixed_precision() -> str:
    """bf16 on CUDA cards that support it, fp16 on older ones, full precision on the CPU."""
    if not torch.cuda.is_available():
        return "no"
    return "bf16" if torch.cuda.is_bf16_supported() else "fp16"


def make_accelerator(mixed_precision: str = "auto"):
    from accelerate import Accelerator

    # cpu=True without CUDA lets Accelerate pick MULTI_CPU (gloo) when launched with several processes.
    return Accelerator(mixed_precision=default_mixed_precision() if mixed_precision == "auto" else mixed_precision,
                       cpu=not torch.cuda.is_available())


def inference_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")
