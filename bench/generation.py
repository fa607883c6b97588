"""Text-to-product benchmark: quality, conditioning and speed, side by side in one process.

    python bench/generation.py --data ../shared/data/fashion-products \\
        --model shipped=checkpoints/gan-fashion64 --model ours-30min=runs/gan-full-30/export \\
        --model ours-narrow-30min=runs/gan-half-30/export --model ours-quarter-30min=runs/gan-quarter-30/export \\
        --model ours-noaug-lr4e-4-30min=runs/gan-half-noaug-lr2-30/export \\
        --model ours-short-recipe-30min=runs/gan-half-noaug-lr8-30/export --model ours-noaug-lr1.2e-3-30min=runs/gan-half-noaug-lr12-30/export \\
        --model ours-lr8e-4-ema0.9995-30min=runs/gan-half-noaug-lr8-ema9995-30/export \\
        --model dcgan-30min-bf16=runs/gan-dcgan-bf16/export --train-speed --seed-sets 2 --noise-spread 1.5 2 3

    # the 30-minute runs: the shipped recipe at its full, half and quarter width; half width without
    # augmentation at learning rates 4e-4, 8e-4 (the short-budget recipe; also with --ema 0.9995)
    # and 1.2e-3; the DCGAN baseline with the same command (--arch dcgan: the paper's Adam 2e-4,
    # no augmentation)
    python train.py gan --data ../shared/data/fashion-products --out runs/gan-full-30 \\
        --checkpoint-every 200 --sample-every 200 --mode-seeking 0.1 --classify articleType baseColour --max-minutes 30
    python train.py gan --data ../shared/data/fashion-products --out runs/gan-half-30 --channels 256 128 64 32 \\
        --checkpoint-every 200 --sample-every 200 --mode-seeking 0.1 --classify articleType baseColour --max-minutes 30
    python train.py gan --data ../shared/data/fashion-products --out runs/gan-quarter-30 --channels 128 64 32 16 \\
        --checkpoint-every 200 --sample-every 200 --mode-seeking 0.1 --classify articleType baseColour --max-minutes 30
    python train.py gan --data ../shared/data/fashion-products --out runs/gan-half-noaug-lr2-30 --channels 256 128 64 32 \\
        --augment "" --lr-g 4e-4 --lr-d 4e-4 \\
        --checkpoint-every 200 --sample-every 200 --mode-seeking 0.1 --classify articleType baseColour --max-minutes 30
    python train.py gan --data ../shared/data/fashion-products --out runs/gan-half-noaug-lr8-30 --channels 256 128 64 32 \\
        --augment "" --lr-g 8e-4 --lr-d 8e-4 \\
        --checkpoint-every 200 --sample-every 200 --mode-seeking 0.1 --classify articleType baseColour --max-minutes 30
    # its repeats: the same with --seed 1 / --seed 2 and --out runs/gan-half-noaug-lr8-s1-30 / -s2-30
    python train.py gan --data ../shared/data/fashion-products --out runs/gan-half-noaug-lr12-30 --channels 256 128 64 32 \\
        --augment "" --lr-g 1.2e-3 --lr-d 1.2e-3 \\
        --checkpoint-every 200 --sample-every 200 --mode-seeking 0.1 --classify articleType baseColour --max-minutes 30
    python train.py gan --data ../shared/data/fashion-products --out runs/gan-half-noaug-lr8-ema9995-30 --channels 256 128 64 32 \\
        --augment "" --lr-g 8e-4 --lr-d 8e-4 --ema 0.9995 \\
        --checkpoint-every 200 --sample-every 200 --mode-seeking 0.1 --classify articleType baseColour --max-minutes 30
    # eight later one-option variants of noaug-lr8, each measured alone (README); ms50 in the loop below is README's short-budget command
    python train.py gan --data ../shared/data/fashion-products --out runs/gan-half-b0-30 --channels 256 128 64 32 \\
        --augment "" --lr-g 8e-4 --lr-d 8e-4 --betas 0.0 0.99 \\
        --checkpoint-every 200 --sample-every 200 --mode-seeking 0.1 --classify articleType baseColour --max-minutes 30
    python train.py gan --data ../shared/data/fashion-products --out runs/gan-half-b32-30 --channels 256 128 64 32 \\
        --augment "" --lr-g 8e-4 --lr-d 8e-4 --batch-size 32 \\
        --checkpoint-every 400 --sample-every 400 --mode-seeking 0.1 --classify articleType baseColour --max-minutes 30
    # runs/gan-half-NAME-30 per mode-seeking weight W and seed S; ms50-s1 and ms50-s2 repeat ms50 with other seeds
    for run in "ms0 0 0" "ms25 0.25 0" "ms50 0.5 0" "ms75 0.75 0" "ms100 1.0 0" "ms50-s1 0.5 1" "ms50-s2 0.5 2"; do
      set -- $run  # NAME W S
      python train.py gan --data ../shared/data/fashion-products --out runs/gan-half-$1-30 --channels 256 128 64 32 \\
          --augment "" --lr-g 8e-4 --lr-d 8e-4 --seed $3 \\
          --checkpoint-every 200 --sample-every 200 --mode-seeking $2 --classify articleType baseColour --max-minutes 30
    done
    python train.py gan --data ../shared/data/fashion-products --out runs/gan-half-ms50-b128-30 --channels 256 128 64 32 \\
        --augment "" --lr-g 8e-4 --lr-d 8e-4 --batch-size 128 \\
        --checkpoint-every 100 --sample-every 100 --mode-seeking 0.5 --classify articleType baseColour --max-minutes 30
    python train.py gan --data ../shared/data/fashion-products --out runs/gan-half-ms50-decay50-30 --channels 256 128 64 32 \\
        --augment "" --lr-g 8e-4 --lr-d 8e-4 --seed 0 --lr-decay 0.5 \\
        --checkpoint-every 200 --sample-every 200 --mode-seeking 0.5 --classify articleType baseColour --max-minutes 30
    python train.py gan --data ../shared/data/fashion-products --out runs/gan-half-ms50-ttur-30 --channels 256 128 64 32 \\
        --augment "" --lr-g 4e-4 --lr-d 1.6e-3 --seed 0 \\
        --checkpoint-every 200 --sample-every 200 --mode-seeking 0.5 --classify articleType baseColour --max-minutes 30
    python train.py gan --data ../shared/data/fashion-products --out runs/gan-half-ms50-nearest-l1w3-30 --channels 256 128 64 32 \\
        --augment "" --lr-g 8e-4 --lr-d 8e-4 --seed 0 --upsample nearest --layout-l1 3 \\
        --checkpoint-every 200 --sample-every 200 --mode-seeking 0.5 --classify articleType baseColour --max-minutes 30
    # README's short-budget command since session 44; its repeats: --seed 1 / --seed 2 with --out runs/gan-half-ms50-nearest-l1w3-s1-30 / -s2-30
    # and with two more classifier heads: the same with --classify articleType baseColour gender usage --out runs/race-heads4-s0
    # session 46's six-minute pilots: the same with --max-minutes 6 --out runs/pilot46-NAME, as it is (base) and with
    # --feature-matching 3 / 10, --d-reconstruct 1 or --d-every 2 (options on branch experiment/pilots-session46, README),
    # each measured with --model base=runs/pilot46-base/export --model NAME=runs/pilot46-NAME/export
    # and the --d-reconstruct 1 race: the short-budget command with that option --out runs/race46-ssd1-s0 (branch's code)
    # session 47's faster machine: the short-budget command --out runs/race47seq-ours-s0, then the DCGAN command below with
    # --seed 0 --out runs/race47seq-dcgan-s0, each alone; and the same pair at once with OMP_NUM_THREADS=1 --out runs/race47-…-s0
    # and the short-budget command with --augment translation instead of --augment "" --out runs/race47seq-ours-aug-s0, alone
    # session 50 (each alone, one after another): the DCGAN command below with --seed 0 --out runs/race50-dcgan-s0; the
    # short-budget command with --augment translation --ada-target 0.6 instead of --augment "" --out runs/race50-ada-s0;
    # the short-budget command as it is --out runs/race50-plain-s0
    # session 51 (alone, one after the other): the session-50 ADA command with --seed 1 --out runs/race51-ada-s1, then the
    # DCGAN command below with --seed 1 --out runs/race51-dcgan-s1
    # session 52, the same pair with --seed 2: --out runs/race52-ada-s2, then --out runs/race52-dcgan-s2
    # and the ADA command with --lecam 0.3 --seed 2 --out runs/race52-lecam-s2 (option on branch experiment/lecam-session52)
    # session 54: six-minute pilots of the ADA command with --max-minutes 6 --seed 0, as it is --out runs/pilot54-base and with
    # --mismatch 0.5 --out runs/pilot54-mm05; then the ADA command with --mismatch 0.5 (README's short-budget command since)
    # and --seed 0 / 1 / 2 --out runs/race54-mm05-s0 / -s1 / -s2, each alone, one after another
    # session 55: that command with --mismatch 1.0 instead of 0.5, --seed 0 --out runs/race55-mm10-s0, alone; six-minute
    # pilots of it as it is (--max-minutes 6 --seed 0) with --mismatch-partner previous / nearest --out runs/pilot55-previous / -nearest
    # (option on branch experiment/hard-mismatch-session55)
    # session 56: README's short-budget command without --standing-stats, --seed 0 --out runs/race56-mm05-s0, then the DCGAN
    # command below with --seed 0 --out runs/race56-dcgan-s0, then the short-budget command with --seed 1 --out runs/race56-mm05-s1,
    # each alone; each short-budget export measured as it is and with its BatchNorm statistics recomputed (what --standing-stats 100 exports)
    # session 60, races matched in steps rather than minutes (so several can share the machine, one thread each, OMP_NUM_THREADS=1):
    # the short-budget command of session 59 (without --mirror) with --max-steps 6619 instead of --max-minutes 30, --seed 0, and
    # --top-k 0.5 / 0.75 --out runs/race60-topk0.5-s0 / -topk0.75-s0 (option on branch experiment/topk-session60) or
    # --mirror --out runs/race60-mirror-s0; then --mirror with --seed 1 --max-steps 5809 / --seed 2 --max-steps 6579 (the step
    # counts of session 58's and 57's races of those seeds) --out runs/race60-mirror-s1 / -s2; each measured with --variety none
    # session 61, 30 minutes each, alone, one after the other: README's short-budget command (with --mirror) --seed 0 / --seed 3
    # --out runs/race61-ours-s0 / -s3; measured with --variety none and 1 beside race60-mirror-s0 and session 59's DCGAN race
    python train.py gan --arch dcgan --data ../shared/data/fashion-products --out runs/gan-dcgan-bf16 \\
        --checkpoint-every 200 --sample-every 200 --max-minutes 30
    # its repeat: the same with --seed 1 --out runs/gan-dcgan-bf16-s1

Protocol (fixed so runs compare):
- real set: the first 2,000 validation images (hash split of train.py, 5 %); floor: 2,000 training
  images (disjoint) against them;
- generated set: one image per validation caption, seed = its index, Generate's default variety (noise
  truncated at ±1) or `--variety V` (`none`: untruncated, as every model was trained; the fair way to
  set a baseline beside ours: at ±1 the DCGAN baseline measures 101.72 against 96.51 untruncated); with
  `--seed-sets K`, also the Fréchet distance of K more such sets (seed 10,000·k + index), as
  mean ± standard deviation: how much of a difference between two models the seeds alone make;
  with `--noise-spread S…`, also its distance with every noise vector scaled S× (the seeds of one
  prompt then differ more): how much of a model's distance a lack of variety accounts for;
- every image padded to a white square, 64×64; features: EfficientNet-Lite0 `extract_features`,
  mean-pooled (1280-d), on 224×224 bilinear-upsampled input scaled (x−127)/128;
- Fréchet distance between the sets (torchmetrics' arithmetic);
- conditional accuracy: linear probes on those features, trained on real training images, for
  articleType (20 most common) and baseColour (12 most common); accuracy on generated images for
  validation captions with those labels, next to real validation images (the ceiling);
- seed variety: for 8 shop prompts, the pixel standard deviation (0–255) across 16 seeds, averaged
  (a grid of one prompt should not be near-twins);
- speed: generation ms/image at batch 1 and 16 including text encoding (no cache hits), and
  training images/s of the sngan and dcgan loops at the same batch size, in fp32 and in train.py's
  default precision (bf16 autocast on CPUs with native bf16, `core/devices.py`).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.timing import median_ms  # noqa: E402
from core.data import ImageTextDataset  # noqa: E402
from core.devices import precision_name  # noqa: E402
from core.evaluation import Protocol, cached_features  # noqa: E402
from gan.generate import TextToProduct  # noqa: E402

SHOWN = ("articleType", "baseColour")
SEED_SET = 10_000  # seed set k draws image i with seed SEED_SET·k + i
SHOP_PROMPTS = ("men's navy blue casual shirt", "Women Red Handbag", "white sports shoes", "women black heels",
                "men blue jeans", "women pink kurta", "men brown wallet", "unisex black sunglasses")


def variety_value(text: str) -> float | None:
    return None if text.lower() == "none" else float(text)


def seed_variety(pipe: TextToProduct, variety: float | None, seeds: int = 16) -> float:
    return sum(pipe.render([p] * seeds, pipe.noise(0, seeds, variety)).float().std(dim=0).mean().item() for p in SHOP_PROMPTS) / len(SHOP_PROMPTS)


def spread_fd(pipe: TextToProduct, protocol: Protocol, spread: float, variety: float | None, batch: int = 64) -> float:
    """The protocol's Fréchet distance with every noise vector scaled by `spread`: a diagnostic of how
    much of a model's distance more variety between seeds would remove."""
    images = []
    for start in range(0, protocol.n, batch):
        prompts = [p or "product" for p in protocol.captions[start:start + batch]]
        noise = torch.cat([pipe.noise(start + i, 1, variety) for i in range(len(prompts))])
        images.append(pipe.render(prompts, spread * noise))
    return protocol.fd(cached_features(torch.cat(images), "generated"))


def latency_ms(pipe: TextToProduct, batch: int, repeats: int = 20) -> float:
    """Median ms per image, text encoding included (each call a new prompt: no cache hits)."""
    prompt = lambda i: f"women red handbag style {i}-{batch}-{time.perf_counter_ns()}"
    return median_ms(lambda i: pipe.render([prompt(i)] * batch, pipe.noise(i, batch)), repeats) / batch


SHIPPED_RECIPE = ["--mode-seeking", "0.1", "--classify", "articleType", "baseColour"]  # as in checkpoints/gan-fashion64's card


def training_speed(data_dir: str, batch: int, generators: list[tuple[tuple[int, ...], str]], steps: int = 6) -> dict[str, dict[str, float]]:
    """Images/s of the sngan loop for each generator (widths, upsampling) in `generators` and of the
    dcgan loop, in full precision and, where it differs, in train.py's default precision."""
    from accelerate.state import AcceleratorState

    from core.devices import default_mixed_precision, make_accelerator
    from gan.training import GANTask
    from train import build_parser

    data = ImageTextDataset(data_dir, 64, "train", limit=1024, progress=False)
    speeds = {}
    for precision in dict.fromkeys(("no", default_mixed_precision())):
        for arch, (channels, upsample) in [*(("sngan", g) for g in generators), ("dcgan", (None, None))]:
            # train.py's defaults plus the shipped recipe, with the augmentation the full 40k-image runs use (not the small-data one)
            recipe = (["--augment", "translation", *SHIPPED_RECIPE, "--channels", *map(str, channels), "--upsample", upsample]
                      if arch == "sngan" else ["--augment", ""])
            options = vars(build_parser().parse_args(["gan", "--data", data_dir, "--out", "-", "--arch", arch, "--batch-size", str(batch), *recipe]))
            options["out"] = None  # no caption cache on disk for a timing run
            AcceleratorState._reset_state()  # Accelerate keeps one precision per process otherwise
            task = GANTask(options, data, make_accelerator(precision))
            task.train_step(0)
            started = time.perf_counter()
            for step in range(1, steps + 1):
                task.train_step(step)
            label = arch if arch == "dcgan" else f"sngan {'-'.join(map(str, channels))}" + ("" if upsample == "transposed" else f" {upsample}")
            speeds.setdefault(precision, {})[label] = batch * steps / (time.perf_counter() - started)
    return speeds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True)
    parser.add_argument("--model", action="append", default=[], help="NAME=FOLDER of an exported generator (repeatable)")
    parser.add_argument("--real", type=int, default=2000)
    parser.add_argument("--probe-train", type=int, default=6000)
    parser.add_argument("--train-speed", action="store_true", help="also time the sngan and dcgan training loops")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seed-sets", type=int, default=0, help="also report FD over this many other seed sets (mean ± std)")
    parser.add_argument("--noise-spread", type=float, nargs="+", default=[], metavar="S",
                        help="also the FD with the noise scaled S× (more seed variety: how much of the distance is it?)")
    parser.add_argument("--variety", type=variety_value, default=1.0, metavar="V",
                        help="the noise truncation every model is sampled at: Generate's default, 1; 'none' for untruncated "
                             "noise, as the models were trained (fair to a baseline that was not trained for truncation)")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "generation.json"))
    args = parser.parse_args(argv)
    torch.manual_seed(0)

    protocol = Protocol(args.data, real=args.real, probe_train=args.probe_train)
    probes = {c: protocol.probes[c] for c in SHOWN}
    results = {"protocol": {"real": protocol.n, "variety": args.variety, "floor_fd": protocol.floor_fd, "ceiling": {c: p.ceiling for c, p in probes.items()}}, "models": {}}
    generators = []  # each sngan model's (widths, upsampling), for --train-speed
    for spec in args.model:
        name, folder = spec.split("=", 1)
        pipe = TextToProduct.from_pretrained(folder, device="cpu")
        if pipe.info.get("arch") == "sngan":
            generators.append((tuple(pipe.generator.config.channels), pipe.generator.config.upsample))
        print(f"{name}: generating {protocol.n} images…", flush=True)
        feats = cached_features(pipe.one_per_prompt(protocol.captions, variety=args.variety), "generated")
        row = {"fd": protocol.fd(feats)}
        if args.seed_sets:
            row["fd_seed_sets"] = [protocol.fd(cached_features(pipe.one_per_prompt(protocol.captions, first_seed=SEED_SET * k, variety=args.variety), "generated"))
                                   for k in range(1, args.seed_sets + 1)]
        if pipe.conditional:  # an unconditional model's variety is all noise already; scaled, it only leaves its training range
            row["fd_noise_spread"] = {str(s): spread_fd(pipe, protocol, s, args.variety) for s in args.noise_spread}
        for column, probe in probes.items():
            row[f"acc_{column}"] = probe.model.accuracy(feats[probe.rows], probe.labels)
        row["seed_variety"] = seed_variety(pipe, args.variety)
        row["ms_b1"], row["ms_b16"] = latency_ms(pipe, 1), latency_ms(pipe, 16)
        row["params_m"] = sum(p.numel() for p in pipe.generator.parameters()) / 1e6
        results["models"][name] = row
    if args.train_speed:
        from gan.training import generator_channels

        shipped_generator = (generator_channels(64, None), "transposed")
        results["train_images_per_s"] = training_speed(args.data, args.batch_size, list(dict.fromkeys([shipped_generator, *generators])))

    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2))
    print(render_table(results))


def render_table(results: dict) -> str:
    p = results["protocol"]
    variety = p.get("variety", 1.0)
    lines = [
        f"variety {'none (untruncated noise)' if variety is None else variety}\n",
        "| model | Fréchet distance ↓ | articleType acc (top-20) | baseColour acc (top-12) | seed variety | ms/img b1 | ms/img b16 | params (M) |",
        "|---|---|---|---|---|---|---|---|",
        f"| real vs real (floor / ceiling) | {p['floor_fd']:.2f} | {p['ceiling']['articleType']:.3f} | {p['ceiling']['baseColour']:.3f} | | | | |",
    ]
    for name, r in results["models"].items():
        rel = lambda c: f"{r[f'acc_{c}']:.3f} ({r[f'acc_{c}'] / p['ceiling'][c]:.0%} of ceiling)"
        fd = f"{r['fd']:.2f}"
        if r.get("fd_seed_sets"):
            sets = torch.tensor(r["fd_seed_sets"])
            fd += f" ({len(sets)} other seed sets: {sets.mean():.2f} ± {sets.std():.2f})" if len(sets) > 1 else f" (other seeds: {sets[0]:.2f})"
        lines.append(f"| {name} | {fd} | {rel('articleType')} | {rel('baseColour')} | {r['seed_variety']:.1f} | {r['ms_b1']:.2f} | {r['ms_b16']:.2f} | {r['params_m']:.2f} |")
    models = list(results["models"])
    if len(models) >= 2:
        first = results["models"][models[0]]["fd"]
        lines.append("")
        lines += [f"FD ratio {models[0]} / {m}: {first / results['models'][m]['fd']:.2f}" for m in models[1:]]
    spreads = {name: r["fd_noise_spread"] for name, r in results["models"].items() if r.get("fd_noise_spread")}
    if spreads:
        lines.append("\nFD with the noise scaled (seed variety up; the first column is the table's):")
        lines += [f"- {name}: ×1 {results['models'][name]['fd']:.2f}, " + ", ".join(f"×{s} {fd:.2f}" for s, fd in row.items())
                  for name, row in spreads.items()]
    if "train_images_per_s" in results:
        lines.append("\ntraining images/s (same batch, same process):")
        for precision, t in results["train_images_per_s"].items():
            label = precision_name(precision) + ("" if precision == "no" else " (train.py's default here)")
            lines.append(f"- {label}: " + ", ".join(f"{loop} {speed:.1f} ({speed / t['dcgan']:.2f}× dcgan)" for loop, speed in t.items() if loop != "dcgan")
                         + f", dcgan {t['dcgan']:.1f}")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
