"""One command that measures a checkpoint and writes a JSON report, a Markdown summary and a sample grid.

    python evaluate.py generator checkpoints/gan-fashion64 --data ../shared/data/fashion-products --out reports/gan
    python evaluate.py generator runs/gan/export --data DIR --prompts prompts.txt --rerank --out reports/mine
    python evaluate.py enhancement checkpoints/sr-photos --photos ../shared/data/clothing-photos/validation --out reports/sr

Generator report keys: `fd`, `kid_mean`, `kid_std`, `precision`, `recall` (k = 3), `match_score`
(mean cosine between each prompt and its image, with the shipped matching model), `probe_accuracy`
and `probe_ceiling` per attribute column (only for the folder's own captions, which carry labels),
plus `images`, `checkpoint`, `kind`. Features and probes follow `core/evaluation.py`.
Enhancement report keys (sr, denoise, inpaint): `psnr`, `ssim` (inpaint: `psnr_hole`) and the
same for the `baseline` (bicubic / the noisy input / OpenCV Telea), plus `images`, `checkpoint`, `kind`.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch


class EvaluationError(ValueError):
    """Evaluation cannot run (empty folder, wrong kind of checkpoint, unusable prompts); for the user."""


def read_prompts(path: str) -> list[str]:
    try:
        lines = Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as e:
        raise EvaluationError(f"cannot read the prompts file {path}: {e.strerror}") from None
    prompts = [line.strip() for line in lines if line.strip()]
    if not prompts:
        raise EvaluationError(f"{path} has no prompts (one description per line; blank lines are skipped)")
    return prompts


def checkpoint_kind(folder: str) -> str:
    from core.checkpoints import read_json

    if not (Path(folder) / "config.json").is_file():
        raise EvaluationError(f"{folder} is not a checkpoint folder (no config.json)")
    try:
        return read_json(Path(folder) / "atelier.json", {}).get("kind", "unknown")
    except ValueError:
        raise EvaluationError(f"{folder}/atelier.json is damaged") from None


def evaluate_generator(checkpoint: str, data: str, prompts_file: str | None, count: int, rerank: bool, out: Path) -> dict:
    from torchvision.utils import save_image

    from core.data import DatasetError
    from core.evaluation import Protocol, cached_features
    from core.metrics import kernel_distance, precision_recall
    from gan.generate import TextToProduct
    from match.score import load_matcher

    if checkpoint_kind(checkpoint) != "gan":
        raise EvaluationError(f"{checkpoint} is not a generator (atelier.json kind must be 'gan'); use `evaluate.py enhancement` for enhancement models")
    try:
        protocol = Protocol(data, real=count)
    except DatasetError as e:
        raise EvaluationError(str(e)) from None
    pipe = TextToProduct.from_pretrained(checkpoint, device="cpu")
    own_captions = prompts_file is None
    prompts = protocol.captions if own_captions else read_prompts(prompts_file)
    prompts = [prompts[i % len(prompts)] or "product" for i in range(protocol.n)]
    images = pipe.one_per_prompt(prompts, rerank)
    features = cached_features(images, "evaluate")
    kid_mean, kid_std = kernel_distance(protocol.real, features)
    precision, recall = precision_recall(protocol.real, features)
    scores = torch.cat([load_matcher().score([p], images[i:i + 1])[0] for i, p in enumerate(prompts)])
    report = {"kind": "generator", "checkpoint": str(checkpoint), "images": len(images), "rerank": rerank,
              "fd": protocol.fd(features), "kid_mean": kid_mean, "kid_std": kid_std, "precision": precision, "recall": recall,
              "match_score": float(scores.mean()), "probe_accuracy": {}, "probe_ceiling": {}}
    if own_captions:
        for column, probe in protocol.probes.items():
            report["probe_accuracy"][column] = probe.model.accuracy(features[probe.rows], probe.labels)
            report["probe_ceiling"][column] = probe.ceiling
    save_image(images[:64].float() / 255, str(out / "samples.png"), nrow=8)
    return report


def evaluate_enhancement(checkpoint: str, photos: str, limit: int | None, out: Path) -> dict:
    from PIL import Image
    from torchvision.utils import save_image

    from core.data import DatasetError, ImageTextDataset
    from core.images import to_pil, to_tensor
    from core.metrics import image_quality
    from enhance.degrade import benchmark_case

    kind = checkpoint_kind(checkpoint)
    if kind not in ("sr", "denoise", "inpaint"):
        raise EvaluationError(f"{checkpoint} is a {kind!r} checkpoint; enhancement evaluation covers sr, denoise and inpaint")
    try:
        data = ImageTextDataset(photos, 256, "all", fit="crop", limit=limit, progress=False)
    except DatasetError as e:
        raise EvaluationError(str(e)) from None
    rows, baseline, shown = [], [], []
    for i, tensor in enumerate(data.images):
        photo = to_pil(tensor)
        case = benchmark_case(kind, photo, i)
        if kind == "sr":
            from enhance.upscale import upscale
            output, reference = upscale(case, 4, "fast", model=checkpoint), case.resize(photo.size, Image.Resampling.BICUBIC)
        elif kind == "denoise":
            from enhance.denoise import denoise
            output, reference = denoise(case, model=checkpoint)[0], case
        else:
            from enhance.inpaint import inpaint
            output, reference = inpaint(photo, case, model=checkpoint), inpaint(photo, case, "opencv")
        if kind == "inpaint":
            hole = case == 1
            psnr = lambda image: 10 * np.log10(255 ** 2 / np.mean((np.asarray(image, float)[hole] - np.asarray(photo, float)[hole]) ** 2))
            rows.append((psnr(output),))
            baseline.append((psnr(reference),))
        else:
            rows.append(image_quality(output, photo))
            baseline.append(image_quality(reference, photo))
        if len(shown) < 24:
            shown += [to_tensor(x.convert("RGB"), torch.uint8) for x in (reference, output, photo)]
    keys = ["psnr_hole"] if kind == "inpaint" else ["psnr", "ssim"]
    mean = lambda r: {k: float(v) for k, v in zip(keys, np.mean(r, axis=0))}
    save_image(torch.stack(shown).float() / 255, str(out / "samples.png"), nrow=3)
    return {"kind": kind, "checkpoint": str(checkpoint), "images": len(rows), **mean(rows), "baseline": mean(baseline)}


def markdown(report: dict) -> str:
    lines = [f"# Evaluation of `{report['checkpoint']}` ({report['kind']}, {report['images']} images)", "", "| metric | value |", "|---|---|"]
    for key, value in report.items():
        if isinstance(value, float):
            lines.append(f"| {key} | {value:.4f} |")
        elif isinstance(value, dict) and value:
            lines += [f"| {key}: {k} | {v:.4f} |" for k, v in value.items()]
    return "\n".join(lines + ["", "![samples](samples.png)", ""])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="what", required=True)
    generator = sub.add_parser("generator", help="Fréchet distance, KID, precision/recall, match score, probe accuracy")
    generator.add_argument("checkpoint")
    generator.add_argument("--data", required=True, help="captioned folder whose validation split is the real set")
    generator.add_argument("--prompts", help="a file of prompts, one per line (default: the validation captions)")
    generator.add_argument("--count", type=int, default=2000)
    generator.add_argument("--rerank", action="store_true", help="best of 4 by match score")
    generator.add_argument("--out", required=True)
    enhancement = sub.add_parser("enhancement", help="PSNR/SSIM of an sr, denoise or inpaint checkpoint on a folder of photos")
    enhancement.add_argument("checkpoint")
    enhancement.add_argument("--photos", required=True)
    enhancement.add_argument("--limit", type=int, default=None)
    enhancement.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    from core.checkpoints import CheckpointError

    try:
        if args.what == "generator":
            report = evaluate_generator(args.checkpoint, args.data, args.prompts, args.count, args.rerank, out)
        else:
            report = evaluate_enhancement(args.checkpoint, args.photos, args.limit, out)
    except (EvaluationError, CheckpointError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    (out / "report.json").write_text(json.dumps(report, indent=2))
    (out / "report.md").write_text(markdown(report))
    print(markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
