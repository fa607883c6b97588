"""The one place that decides device and precision: Accelerate, with mixed precision where the hardware runs it natively."""
from __future__ import annotations

import torch


def cpu_has_native_bf16() -> bool:
    """AVX512-BF16 / AMX (Intel Sapphire Rapids and later, AMD Zen 4): oneDNN runs bf16 convolutions
    natively, a GAN training step 1.8× faster than fp32 on a 2-core Xeon. Elsewhere bf16 is emulated
    and slower than fp32."""
    probe = getattr(torch.cpu, "_is_avx512_bf16_supported", None)  # private, so looked up defensively
    return bool(probe is not None and probe())


def native_precision(device_type: str) -> str:
    """The reduced precision a device runs natively, as Accelerate names it: bf16 on CUDA cards that
    support it, fp16 on older ones; bf16 on CPUs with native bf16, else "no" (fp32)."""
    if device_type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    return "bf16" if cpu_has_native_bf16() else "no"


def default_mixed_precision() -> str:
    """Training's `--mixed-precision auto`: the native precision of the device we train on."""
    return native_precision("cuda" if torch.cuda.is_available() else "cpu")


def precision_name(mixed_precision: str) -> str:
    """Accelerate's setting as people say it: "fp32", "bf16 autocast", "fp16 autocast"."""
    return "fp32" if mixed_precision == "no" else f"{mixed_precision} autocast"


def make_accelerator(mixed_precision: str = "auto", find_unused_parameters: bool = False):
    from accelerate import Accelerator, DistributedDataParallelKwargs

    # cpu=True without CUDA lets Accelerate pick MULTI_CPU (gloo) when launched with several processes.
    return Accelerator(mixed_precision=default_mixed_precision() if mixed_precision == "auto" else mixed_precision,
                       cpu=not torch.cuda.is_available(),
                       kwargs_handlers=[DistributedDataParallelKwargs(find_unused_parameters=find_unused_parameters)])


def inference_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def inference_autocast(device: torch.device | str) -> torch.autocast:
    """Reduced precision for an inference forward pass on `device`, where it runs natively: fp16 or bf16
    on CUDA, bf16 on CPUs with native bf16, else off. Used by both upscaling modes, the denoiser and
    the inpainter (on a 2-core EPYC 1.4–1.7× faster, PSNR within 0.02 dB: `bench/enhance.py`)."""
    device_type = torch.device(device).type
    precision = native_precision(device_type)
    return torch.autocast(device_type, dtype=torch.float16 if precision == "fp16" else torch.bfloat16, enabled=precision != "no")
