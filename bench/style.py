"""Style benchmark: the fast decoder against optimisation-based transfer, in one process.

    python bench/style.py --photos ../shared/data/clothing-photos/validation --catalog ../shared/data/fashion-products

Protocol (fixed so runs compare):
- contents: the first 100 photos of `--photos` (sorted paths; never trained on), at most 512 px
  on the longer side; styles: the six procedural example styles of the Style tab and centre crops
  of the last four photos of `--photos` (10 in all; every content × every style);
- distances (style/statistics.py, the definitions the decoder is trained with): content distance =
  mean squared difference of the deepest EfficientNet-Lite0 features (1/16 resolution) between
  result and content; style distance = mean squared difference of per-channel feature means and
  deviations at four taps between result and style (the style at the content's area);
- fast mode on all pairs; the optimisation ("quality") mode, which takes about a minute a picture
  here, on the first `--quality-pairs` pairs (one per content, styles in turn), the fast mode's
  numbers on the same pairs beside it;
- product only: `--composites` validation catalog products pasted (masks from their white
  backgrounds) on crops of the photos, 128 px (the catalog's own 60×80 scale, the protocol of
  bench/enhance.py's background IoU), one style each; share of the changed pixels (any channel)
  that fall outside the true product mask;
- recolour: every content photo × 8 chromatic colours; hue error = circular distance between the
  requested hue and the saturation-weighted mean hue (HSV) of the product pixels (mask weight 1).
Times are milliseconds per picture on this machine, one at a time.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from PIL import Image  # noqa: E402
from core.data import ImageTextDataset, scan_folder  # noqa: E402
from core.images import load_image, to_pil  # noqa: E402
from core.textures import example_styles  # noqa: E402
from style.recolor import parse_colour, recolor  # noqa: E402
from style.statistics import CONTENT_TAP, content_distance, encode, style_distance, style_statistics  # noqa: E402
from style.transfer import fit_area, match_area, model_input, product_weight, stylize  # noqa: E402

SIZE = 512
COLOURS = ("red", "orange", "gold", "green", "teal", "royalblue", "purple", "deeppink")


def distances(result: Image.Image, content: Image.Image, style: Image.Image) -> tuple[float, float]:
    with torch.no_grad():
        target = encode(model_input(content, "cpu"))[CONTENT_TAP]
        statistics = style_statistics(encode(model_input(match_area(style, content), "cpu")))
        features = encode(model_input(result, "cpu"))
        return content_distance(features, target).item(), style_distance(features, statistics).item()


def timed(fn, *args, **kwargs):
    started = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, (time.perf_counter() - started) * 1000


def transfer(contents, styles, pairs, mode: str, steps: int = 150) -> dict:
    rows = []
    for c, s in pairs:
        out, ms = timed(stylize, contents[c], styles[s], mode=mode, size=SIZE, steps=steps)
        rows.append((*distances(out, contents[c], styles[s]), ms))
    return dict(zip(["content", "style", "ms"], np.array(rows).mean(0).tolist()))


def untouched(contents, styles, pairs) -> dict:
    """The content itself as the 'result': the distances before any transfer."""
    rows = [distances(contents[c], contents[c], styles[s]) for c, s in pairs]
    return dict(zip(["content", "style"], np.array(rows).mean(0).tolist()))


def product_only_leak(catalog: str, photos_dir: str, styles: list, count: int) -> dict:
    from enhance import degrade

    val = ImageTextDataset(catalog, 128, "validation", progress=False)
    products, masks = degrade.usable_products(val.images[:count * 2])
    products, masks = products[:count], masks[:count]
    backdrops = ImageTextDataset(photos_dir, 256, "all", fit="crop", progress=False).images
    images, truth = degrade.composite(products.float() / 255, masks, backdrops, torch.Generator().manual_seed(0))
    outside, changed_total = 0, 0
    for i, (image, mask) in enumerate(zip(images, truth)):
        pil = to_pil(image)
        out = np.asarray(stylize(pil, styles[i % len(styles)], product_only=True, size=SIZE))
        changed = (out != np.asarray(pil)).any(-1)
        outside += int((changed & (mask[0].numpy() < 0.5)).sum())
        changed_total += int(changed.sum())
    return {"leak": outside / max(changed_total, 1), "count": len(images)}


def hue_of(pixels: np.ndarray) -> float:
    import cv2

    hsv = cv2.cvtColor(pixels.reshape(-1, 1, 3).astype(np.uint8), cv2.COLOR_RGB2HSV_FULL).reshape(-1, 3).astype(np.float64)
    angles, weights = hsv[:, 0] / 256 * 2 * np.pi, hsv[:, 1] / 255
    return float(np.degrees(np.arctan2((np.sin(angles) * weights).sum(), (np.cos(angles) * weights).sum())) % 360)


def recolour_error(contents) -> dict:
    import colorsys

    errors, times = [], []
    for content in contents:
        weight = product_weight(content) == 1
        if weight.sum() < 16:
            continue
        for colour in COLOURS:
            out, ms = timed(recolor, content, colour)
            target = colorsys.rgb_to_hsv(*(np.array(parse_colour(colour)) / 255))[0] * 360
            errors.append(abs((hue_of(np.asarray(out)[weight]) - target + 180) % 360 - 180))
            times.append(ms)
    return {"hue_error_deg": float(np.mean(errors)), "hue_error_p95_deg": float(np.percentile(errors, 95)),
            "ms": float(np.mean(times)), "count": len(errors)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", required=True, help="held-out photos (clothing-photos/validation)")
    parser.add_argument("--catalog", required=True, help="catalog folder for the product-only composites (its validation split)")
    parser.add_argument("--contents", type=int, default=100)
    parser.add_argument("--quality-pairs", type=int, default=10)
    parser.add_argument("--quality-steps", type=int, default=150)
    parser.add_argument("--composites", type=int, default=100)
    parser.add_argument("--only", choices=["product_only", "recolour"],
                        help="re-measure one segmenter-dependent part (merged into --out if it holds an earlier run)")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "style.json"))
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    paths = sorted(r.path for r in scan_folder(args.photos).records)
    contents = [fit_area(load_image(p), SIZE) for p in paths[:args.contents]]
    styles = list(example_styles(SIZE).values())
    for p in paths[-4:]:
        photo = load_image(p)
        side = min(photo.size)
        styles.append(photo.crop(((photo.width - side) // 2, (photo.height - side) // 2, (photo.width + side) // 2, (photo.height + side) // 2)))
    print(f"{len(contents)} contents × {len(styles)} styles", flush=True)
    if args.only:  # re-measure one segmenter-dependent part; merged into an earlier full run's file if there is one
        results = json.loads(Path(args.out).read_text()) if Path(args.out).is_file() else {}
    else:
        pairs = [(c, s) for c in range(len(contents)) for s in range(len(styles))]
        quality_pairs = [(c, c % len(styles)) for c in range(min(args.quality_pairs, len(contents)))]
        stylize(contents[0], styles[0], size=SIZE)  # warm-up: load the models once
        results = {"contents": len(contents), "styles": len(styles), "quality_steps": args.quality_steps, "quality_pairs": len(quality_pairs)}
        print("fast, all pairs …", flush=True)
        results["fast_all"] = transfer(contents, styles, pairs, "fast")
        results["unstyled_all"] = untouched(contents, styles, pairs)
        print(f"quality, {len(quality_pairs)} pairs …", flush=True)
        results["quality_subset"] = transfer(contents, styles, quality_pairs, "quality", args.quality_steps)
        results["fast_subset"] = transfer(contents, styles, quality_pairs, "fast")
        results["unstyled_subset"] = untouched(contents, styles, quality_pairs)
    if args.only in (None, "product_only"):
        print("product only …", flush=True)
        results["product_only"] = product_only_leak(args.catalog, args.photos, styles, args.composites)
    if args.only in (None, "recolour"):
        print("recolour …", flush=True)
        results["recolour"] = recolour_error(contents)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2))
    print(render_table(results))


def render_table(r: dict) -> str:
    lines = []
    if "fast_all" in r:
        lines += [f"Style transfer at {SIZE} px: {r['contents']} contents × {r['styles']} styles (fast); "
                  f"optimisation ({r['quality_steps']} steps) on {r['quality_pairs']} of the pairs",
                  "| method | pairs | content distance | style distance | ms/img |", "|---|---|---|---|---|"]
        for key, label in (("unstyled_all", "no transfer (the content)"), ("fast_all", "fast (ours, AdaIN decoder)"),
                           ("unstyled_subset", "no transfer, subset"), ("fast_subset", "fast, subset"), ("quality_subset", "quality (optimisation), subset")):
            v = r[key]
            pairs = r["contents"] * r["styles"] if key.endswith("all") else r["quality_pairs"]
            lines.append(f"| {label} | {pairs} | {v['content']:.2f} | {v['style']:.2f} | {v.get('ms', 0):.0f} |")
        fast, quality = r["fast_subset"], r["quality_subset"]
        lines.append(f"quality / fast time: {quality['ms'] / fast['ms']:.1f}× (target ≥ 20×); "
                     f"fast / quality style distance: {fast['style'] / quality['style']:.2f}× (target ≤ 1.5×)")
    if "product_only" in r:
        p = r["product_only"]
        lines.append(f"Product only: {p['leak']:.2%} of changed pixels outside the true mask on {p['count']} composites (target < 2 %)")
    if "recolour" in r:
        c = r["recolour"]
        lines.append(f"Recolour: hue error {c['hue_error_deg']:.1f}° mean, {c['hue_error_p95_deg']:.1f}° p95 on {c['count']} "
                     f"recolourings ({c['ms']:.0f} ms each; target < 10°)")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
