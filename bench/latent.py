"""Latent-space benchmark: VAE reconstruction, sample quality next to the GAN, slider directions, latency.

    python bench/latent.py --data ../shared/data/fashion-products \\
        --vae checkpoints/vae-fashion64 --gan checkpoints/gan-fashion64

Protocol (`core/evaluation.py` for the real set, features, Fréchet distance and probes):
- reconstruction: the 2,000 validation images → μ → decode; PSNR and SSIM (torchmetrics, pixels in
  [0, 1]) and Fréchet distance of the reconstructions; random samples: 2,000 VAE starts (seed i,
  the studio's sampler) and, for reference, 2,000 draws from the N(0, I) prior; the GAN: one image
  per validation caption (the generation benchmark's set);
- directions: for each named slider whose value a probe knows, `--starts` starting points (VAE:
  encoded validation images; GAN: seed i + validation caption i), moved by +2σ (σ: the data's
  standard deviation along the direction) and, separately, by the slider at +1 (one class gap);
  success = the probe's probability of that value goes up. Colour sliders also report how often
  the articleType probe's prediction stays the same;
- latency (median, one process, batch 1): encode a 640×480 photo, one slider update (3 sliders
  set), one 8-frame morph; the baseline is one Generate-tab image from a new prompt (text encoding
  included) in the same process.
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

from PIL import Image  # noqa: E402

from bench.timing import median_ms  # noqa: E402
from core.evaluation import Protocol, cached_features  # noqa: E402
from gan.generate import TextToProduct  # noqa: E402
from latent.studio import Edit, Studio  # noqa: E402

STEP = 2.0  # σ


def reconstruction(studio: Studio, protocol: Protocol) -> dict:
    from torchmetrics.functional.image import peak_signal_noise_ratio, structural_similarity_index_measure

    real = protocol.val.images[:protocol.n]
    latents = torch.cat([studio.space.encode_pixels(real[i:i + 256]) for i in range(0, len(real), 256)])
    recon = torch.cat([studio.space.decode(latents[i:i + 256]) for i in range(0, len(latents), 256)])
    x, y = recon.float() / 255, real.float() / 255
    samples = torch.cat([studio.space.decode(torch.stack([studio.start(s).base for s in range(i, min(i + 256, protocol.n))]))
                         for i in range(0, protocol.n, 256)])
    prior = studio.space.decode(torch.randn(protocol.n, studio.space.latent_dim, generator=torch.Generator().manual_seed(0)))
    return {
        "psnr": float(peak_signal_noise_ratio(x, y, data_range=1.0)),
        "psnr_per_image_mean": float(torch.stack([peak_signal_noise_ratio(a, b, data_range=1.0) for a, b in zip(x, y)]).mean()),
        "ssim": float(structural_similarity_index_measure(x, y, data_range=1.0)),
        "fd_reconstruction": protocol.fd(cached_features(recon, "recon")),
        "fd_samples": protocol.fd(cached_features(samples, "samples")),
        "fd_prior_samples": protocol.fd(cached_features(prior, "samples")),
    }


def starting_points(studio: Studio, protocol: Protocol, count: int):
    if studio.space.can_encode:
        latents = studio.space.encode_pixels(protocol.val.images[:count])
        return [Edit(latent) for latent in latents]
    return [studio.start(i, protocol.captions[i] or "product") for i in range(count)]


def moved(studio: Studio, start: Edit, name: str, step: str) -> Edit:
    """`start` moved along one named direction: by STEP σ (the issue's measure), or by the slider at +1."""
    if step == "slider_1":
        return start.with_sliders({name: 1.0})
    i = studio.directions.index(name)
    return Edit(start.base + STEP * studio.directions.sigma[i] * studio.directions.vectors[i])


def directions(studio: Studio, protocol: Protocol, count: int) -> dict:
    starts = starting_points(studio, protocol, count)
    base_features = cached_features(studio.pixels(starts), "latent-start")
    category = protocol.probes["articleType"].model
    base_category = category.predict(base_features)
    out = {}
    for step in ("sigma", "slider_1"):
        per_direction = {}
        for name in studio.directions.names:
            if "=" not in name:
                continue
            column, value = name.split("=", 1)
            probe = protocol.probes.get(column)
            if probe is None or value not in probe.classes:
                continue
            moved_features = cached_features(studio.pixels([moved(studio, s, name, step) for s in starts]), "latent-moved")
            k = probe.classes.index(value)
            before, after = probe.model.probabilities(base_features)[:, k], probe.model.probabilities(moved_features)[:, k]
            row = {"raised": float((after > before).float().mean()), "p_before": float(before.mean()), "p_after": float(after.mean())}
            if column == "baseColour":
                row["category_kept"] = sum(a == b for a, b in zip(base_category, category.predict(moved_features))) / len(starts)
            per_direction[name] = row
        out[step] = {"per_direction": per_direction, "per_attribute": per_attribute(per_direction)}
    return out


def per_attribute(per_direction: dict) -> dict:
    """Rows of the named directions → one summary per attribute column."""
    columns = {}
    for name, row in per_direction.items():
        columns.setdefault(name.split("=")[0], []).append(row)
    return {column: {"directions": len(rows), "raised": sum(r["raised"] for r in rows) / len(rows),
                     "directions_raising_80pct": sum(r["raised"] >= 0.8 for r in rows),
                     **({"category_kept": sum(r["category_kept"] for r in rows) / len(rows)} if column == "baseColour" else {})}
            for column, rows in columns.items()}


def latency(studio: Studio, baseline: TextToProduct) -> dict:
    photo = Image.new("RGB", (640, 480), (40, 80, 160))
    start = studio.start(0, "Men Blue Shirts")
    sliders = studio.default_sliders()[:3]
    other = studio.start(1, "Women Red Handbags")
    out = {
        "slider_update": median_ms(lambda r: studio.render(start.with_sliders({n: (r % 5 - 2) * 0.5 for n in sliders}))),
        "morph_8": median_ms(lambda r: studio.morph(start, other, 8), repeats=10),
        "generate_baseline": median_ms(lambda r: baseline.render([f"men blue shirt {r} {time.perf_counter_ns()}"], baseline.noise(r, 1))),
    }
    if studio.space.can_encode:
        out["encode"] = median_ms(lambda r: studio.encode(photo))
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True)
    parser.add_argument("--vae", default=str(ROOT / "checkpoints" / "vae-fashion64"))
    parser.add_argument("--gan", default=str(ROOT / "checkpoints" / "gan-fashion64"))
    parser.add_argument("--real", type=int, default=2000)
    parser.add_argument("--starts", type=int, default=100, help="starting points per direction")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "latent.json"))
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    protocol = Protocol(args.data, real=args.real)
    vae, gan = Studio.from_pretrained(args.vae, device="cpu"), Studio.from_pretrained(args.gan, device="cpu")
    baseline = TextToProduct.from_pretrained(args.gan, device="cpu")
    results = {"protocol": {"real": protocol.n, "floor_fd": protocol.floor_fd, "starts": args.starts, "step_sigma": STEP}}
    print("reconstruction…", flush=True)
    results["vae"] = reconstruction(vae, protocol)
    results["gan"] = {"fd_samples": protocol.fd(cached_features(baseline.one_per_prompt(protocol.captions), "generated"))}
    for name, studio in (("vae", vae), ("gan", gan)):
        print(f"{name}: directions…", flush=True)
        results[name]["directions"] = directions(studio, protocol, args.starts)
        results[name]["latency_ms"] = latency(studio, baseline)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2))
    print(render_table(results))


def render_table(results: dict) -> str:
    v, g = results["vae"], results["gan"]
    lines = [
        "| | VAE | GAN |", "|---|---|---|",
        f"| PSNR (dB, 2,000 val) | {v['psnr']:.2f} | — |",
        f"| SSIM | {v['ssim']:.3f} | — |",
        f"| FD reconstructions (floor {results['protocol']['floor_fd']:.2f}) | {v['fd_reconstruction']:.2f} | — |",
        f"| FD random samples | {v['fd_samples']:.2f} (prior N(0,I): {v['fd_prior_samples']:.2f}) | {g['fd_samples']:.2f} |",
    ]
    cell = lambda r: (f"{r['raised']:.0%} raised ({r['directions_raising_80pct']}/{r['directions']} sliders ≥ 80 %)"
                      + (f"; category kept {r['category_kept']:.0%}" if "category_kept" in r else "")) if r else "—"
    for step, label in (("sigma", f"+{results['protocol']['step_sigma']:g}σ"), ("slider_1", "slider +1")):
        vs, gs = v["directions"][step]["per_attribute"], g["directions"][step]["per_attribute"]
        for column in sorted(set(vs) | set(gs)):
            lines.append(f"| {label} {column} | {cell(vs.get(column))} | {cell(gs.get(column))} |")
    for key, label in (("encode", "encode a photo"), ("slider_update", "slider update"), ("morph_8", "8-frame morph"), ("generate_baseline", "baseline: Generate 1 image")):
        lines.append(f"| {label} (ms) | {v['latency_ms'].get(key, float('nan')):.1f} | {g['latency_ms'].get(key, float('nan')):.1f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
