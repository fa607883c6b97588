"""One sngan training step with our modules against the plain ones they stand for, interleaved in one process.

    python bench/gan_step.py --data ../shared/data/fashion-products

`NearestUpsampleConv` computes nearest ×2 + 3×3 conv as a folded 4×4 transposed conv, and
`MinibatchStd` writes its variance out; the baseline swaps in `nn.Upsample` + `nn.Conv2d` and
`torch.var`, with the same weights. Steps of the two alternate and medians are compared, because
this machine's speed drifts by more than the difference within a minute (a block of steps per model,
as `generation.py --train-speed` times them, does not resolve it).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
import torch.nn as nn

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.timing import median_ms  # noqa: E402
from core.data import ImageTextDataset  # noqa: E402
from core.devices import make_accelerator, precision_name  # noqa: E402
from gan.model import MinibatchStd, NearestUpsampleConv  # noqa: E402
from gan.training import GANTask  # noqa: E402
from train import build_parser  # noqa: E402


class VarMinibatchStd(MinibatchStd):
    """The same feature through `torch.var`, as it was computed before."""

    @staticmethod
    def group_std(groups: torch.Tensor) -> torch.Tensor:
        return groups.var(dim=0, unbiased=False).add(1e-8).sqrt().mean(dim=(1, 2, 3))


def with_plain_modules(model: nn.Module) -> nn.Module:
    """Swap each NearestUpsampleConv / MinibatchStd for the plain modules computing the same thing (weights shared)."""
    for name, child in model.named_children():
        if isinstance(child, NearestUpsampleConv):
            conv = nn.Conv2d(child.weight.shape[1], child.weight.shape[0], 3, padding=1, bias=child.bias is not None)
            conv.weight, conv.bias = child.weight, child.bias
            setattr(model, name, nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), conv))
        elif isinstance(child, MinibatchStd):
            setattr(model, name, VarMinibatchStd(child.group))
        else:
            with_plain_modules(child)
    return model


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True)
    parser.add_argument("--steps", type=int, default=40, help="timed steps per variant, alternating")
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args(argv)

    data = ImageTextDataset(args.data, 64, "train", limit=1024, progress=False)
    accelerator = make_accelerator()
    rows = []
    for upsample in ("transposed", "nearest"):
        # the short-budget command's recipe (README), at both upsamplings
        recipe = ["--channels", "256", "128", "64", "32", "--augment", "", "--mode-seeking", "0.5", "--layout-l1", "3",
                  "--classify", "articleType", "baseColour", "--upsample", upsample, "--batch-size", str(args.batch_size)]
        tasks = {}
        for variant in ("plain modules", "ours"):
            options = vars(build_parser().parse_args(["gan", "--data", args.data, "--out", "-", *recipe]))
            options["out"] = None  # no caption cache on disk for a timing run
            task = GANTask(options, data, accelerator)
            if variant == "plain modules":
                with_plain_modules(accelerator.unwrap_model(task.G)), with_plain_modules(accelerator.unwrap_model(task.D))
            task.train_step(0)
            tasks[variant] = task
        times = {variant: [] for variant in tasks}
        for step in range(1, args.steps + 1):
            for variant, task in tasks.items():
                times[variant].append(median_ms(lambda _: task.train_step(step), repeats=1, warmup=0))
        medians = {variant: sorted(t)[len(t) // 2] for variant, t in times.items()}
        rows.append((upsample, medians["plain modules"], medians["ours"]))

    print(f"sngan training step, half width, batch {args.batch_size}, {precision_name(accelerator.mixed_precision)}, "
          f"median of {args.steps} alternating steps:\n")
    print("| generator upsampling | plain modules (ms/step) | ours (ms/step) | speed-up |\n|---|---|---|---|")
    for upsample, plain, ours in rows:
        print(f"| {upsample} | {plain:.1f} | {ours:.1f} | {plain / ours:.2f}× |")


if __name__ == "__main__":
    main()
