"""Enhancement benchmark: our models against classical baselines and Real-ESRGAN, in one process.

    python bench/enhance.py --photos ../shared/data/clothing-photos/validation \\
        --catalog ../shared/data/fashion-products

Protocol (fixed so runs compare):
- photos: every image of `--photos` (the clothing set's validation/, never trained on), centre
  256×256 crop; PSNR/SSIM with torchmetrics on [0, 1] pixels, a 4-px border ignored;
- SR ×4: input = bicubic (antialiased) downscale to 64×64; bicubic and Lanczos (Pillow), ours
  ("fast"), Real-ESRGAN x4plus ("quality"), both in their default precision (bf16 autocast where
  the CPU runs it natively) and in fp32 (what they ran in before); besides PSNR/SSIM, two measures of how
  photo-like the result looks rather than how close each pixel is: the mean LPIPS-style distance on
  EfficientNet-Lite0 feature maps (`core.features.perceptual_loss`) to the photo, and the Fréchet
  distance between all outputs and all photos (the generation protocol's features; a few hundred
  images bias it upwards, so compare rows, not runs of different sizes); the same on the checked
  photos' products cut out onto white (GrabCut's masks), padded square at 256 px: the case of a
  64-px generated product on white made 256 px in the Generate tab;
- generate sizes: median ms of the Generate tab's call for 8 images (PNGs written) as drawn (64 px)
  and ×4 by each upscaling mode;
- denoise: Gaussian noise σ = 25 (seeded per image); OpenCV fastNlMeansDenoisingColored with
  h = hColor ∈ {10, 15, 20} (best reported), ours with default settings (noise level estimated),
  also in fp32;
- inpaint: one 64×64 square hole per image at a seeded position; PSNR inside the hole for
  OpenCV Telea (radius 5) and ours (also in fp32);
- background: 500 composites of validation catalog products (masks from their white backgrounds)
  over backgrounds made from the photos above (unseen in training), 128×128; IoU of the predicted
  mask (alpha > 0.5) against the composite's mask; and on the everyday photos listed in
  `bench/checked-photos.txt` (at most 256 px), IoU against GrabCut's mask of each, which was checked
  by eye (so GrabCut itself is the reference there, and its row gives only the composites);
  `--segmenter FOLDER …` measures other exported segmenters beside the shipped one;
- tone: every photo shifted by a seeded exposure (±1 stop) and colour cast (`benchmark_case("tone")`);
  mean CIE76 ΔE of the auto-toned result against the photo as taken ("restore"), and of each
  method applied to the untouched photo against itself ("untouched": what it does to a photo that
  needs nothing); baselines: nothing, Pillow's autocontrast and the textbook rules our auto tone
  used before its estimator (grey world, median luminance to 18 % grey, 1st–99th percentile stretch);
- memory: peak resident memory of a separate process upscaling a 4000×3000 photo ×4 (fast).
Times are milliseconds per image on this machine, measured in the same process, one at a time.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
CHECKED_PHOTOS = ROOT / "bench" / "checked-photos.txt"
sys.path.insert(0, str(ROOT))

from PIL import Image  # noqa: E402
from core.data import ImageTextDataset  # noqa: E402
from core.features import perceptual_loss, pooled_features  # noqa: E402
from core.images import load_image, pad_to_square, to_pil, to_tensor  # noqa: E402
from core.metrics import colour_difference, frechet_distance, image_quality  # noqa: E402
from core.outputs import from_uint8  # noqa: E402
from enhance.degrade import benchmark_case  # noqa: E402

BORDER = 4


def quality(output, target) -> tuple[float, float]:
    return image_quality(output, target, BORDER)


def timed(fn, *args):
    started = time.perf_counter()
    out = fn(*args)
    return out, (time.perf_counter() - started) * 1000


def summarise(rows: list[tuple]) -> dict:
    values = np.array(rows, dtype=float)
    keys = ["psnr", "ssim", "ms"][:values.shape[1]]
    return {k: float(v) for k, v in zip(keys, values.mean(0))}


def in_fp32(fn, module):
    """`fn` with `module`'s autocast switched off: the precision our enhancement models ran in before."""
    def run(*args):
        autocast, module.inference_autocast = module.inference_autocast, lambda device: torch.autocast("cpu", enabled=False)
        try:
            return fn(*args)
        finally:
            module.inference_autocast = autocast
    return run


def products_on_white(photos_dir: str) -> list[Image.Image]:
    """The checked photos' products (GrabCut masks) on white, padded square at 256 px: the nearest
    thing to a catalog shot at four times the catalog's resolution, for ×4 of 64-px products."""
    on_white = []
    for photo, mask in checked_photos(photos_dir):
        pixels = np.where(mask[..., None], np.asarray(photo), 255).astype(np.uint8)
        on_white.append(pad_to_square(Image.fromarray(pixels)).resize((256, 256), Image.Resampling.LANCZOS))
    return on_white


def generate_call_ms(count: int = 8) -> dict:
    """Median ms of the Generate tab's call (`generate_files`, PNGs written) for `count` images at each size."""
    from bench.timing import median_ms
    from gan.generate import UPSCALE_MODES, generate_files

    return {mode: median_ms(lambda i: generate_files(f"product {i}", count, i, upscale=mode), repeats=5, warmup=1)
            for mode in ("none", *UPSCALE_MODES)}


def super_resolution(photos: list[Image.Image]) -> dict:
    import enhance.upscale
    from enhance.upscale import upscale

    methods = {
        "bicubic": lambda small: small.resize((256, 256), Image.Resampling.BICUBIC),
        "lanczos": lambda small: small.resize((256, 256), Image.Resampling.LANCZOS),
        "ours (fast)": lambda small: upscale(small, 4, "fast"),
        "Real-ESRGAN (quality)": lambda small: upscale(small, 4, "quality"),
        "ours (fast), fp32": in_fp32(lambda small: upscale(small, 4, "fast"), enhance.upscale),
        "Real-ESRGAN (quality), fp32": in_fp32(lambda small: upscale(small, 4, "quality"), enhance.upscale),
    }
    for fn in methods.values():  # load models before timing
        fn(photos[0].resize((64, 64), Image.Resampling.BICUBIC))
    rows = {name: [] for name in methods}
    outputs = {name: [] for name in methods}
    for i, photo in enumerate(photos):
        small = benchmark_case("sr", photo, i)
        for name, fn in methods.items():
            out, ms = timed(fn, small)
            rows[name].append((*quality(out, photo), ms))
            outputs[name].append(to_tensor(out, torch.uint8))
    originals = torch.stack([to_tensor(p, torch.uint8) for p in photos])
    real_features = pooled_features(originals)
    return {name: summarise(r) | {"perceptual": perceptual_distance(torch.stack(outputs[name]), originals),
                                  "fd": frechet_distance(pooled_features(torch.stack(outputs[name])), real_features)}
            for name, r in rows.items()}


@torch.inference_mode()
def perceptual_distance(outputs: torch.Tensor, targets: torch.Tensor, batch: int = 32) -> float:
    """Mean LPIPS-style distance (`core.features.perceptual_loss`) between uint8 image pairs: texture and edges, not pixels."""
    total = sum(float(perceptual_loss(from_uint8(outputs[i:i + batch]), from_uint8(targets[i:i + batch]))) * len(outputs[i:i + batch])
                for i in range(0, len(outputs), batch))
    return total / len(outputs)


def denoising(photos: list[Image.Image]) -> dict:
    import cv2

    import enhance.denoise
    from enhance.denoise import denoise

    rows = {"noisy input": [], **{f"OpenCV NLM h={h}": [] for h in (10, 15, 20)}, "ours (automatic)": [], "ours (automatic), fp32": []}
    denoise_fp32 = in_fp32(denoise, enhance.denoise)
    for warm_up in (denoise, denoise_fp32):
        warm_up(photos[0])
    for i, photo in enumerate(photos):
        noisy = np.asarray(benchmark_case("denoise", photo, i))
        rows["noisy input"].append((*quality(noisy, photo), 0.0))
        for h in (10, 15, 20):
            out, ms = timed(cv2.fastNlMeansDenoisingColored, noisy, None, h, h, 7, 21)
            rows[f"OpenCV NLM h={h}"].append((*quality(out, photo), ms))
        for name, fn in (("ours (automatic)", denoise), ("ours (automatic), fp32", denoise_fp32)):
            (out, _), ms = timed(fn, Image.fromarray(noisy))
            rows[name].append((*quality(out, photo), ms))
    return {name: summarise(r) for name, r in rows.items()}


def inpainting(photos: list[Image.Image]) -> dict:
    import enhance.inpaint
    from enhance.inpaint import inpaint

    methods = {"OpenCV Telea": partial(inpaint, method="opencv"), "ours": inpaint, "ours, fp32": in_fp32(inpaint, enhance.inpaint)}
    rows = {name: [] for name in methods}
    for fn in methods.values():
        fn(photos[0], np.pad(np.ones((8, 8), np.uint8), 100))
    for i, photo in enumerate(photos):
        mask = benchmark_case("inpaint", photo, i)
        target = np.asarray(photo, np.float64)[mask == 1]
        for name, fn in methods.items():
            out, ms = timed(fn, photo, mask)
            mse = np.mean((np.asarray(out, np.float64)[mask == 1] - target) ** 2)
            rows[name].append((10 * np.log10(255 ** 2 / mse), ms))
    return {name: dict(zip(["psnr_hole", "ms"], np.array(r).mean(0).tolist())) for name, r in rows.items()}


def checked_photos(photos_dir: str) -> list[tuple[Image.Image, np.ndarray]]:
    """The photos of CHECKED_PHOTOS (at most 256 px, the size the segmenter works at), each with its
    product mask (H, W) bool: GrabCut's, checked by eye."""
    from enhance import degrade

    photos = []
    for name in CHECKED_PHOTOS.read_text().split("\n"):
        if name.strip() and not name.startswith("#"):
            photo = load_image(Path(photos_dir) / name)
            photo.thumbnail((256, 256))
            photos.append((photo, degrade.photo_mask(np.asarray(photo))))
    return photos


def background(catalog: str, photos_dir: str, count: int, segmenters: list[str]) -> dict:
    """IoU on composites and on the checked real photos, for the shipped segmenter, any other
    exported ones, and GrabCut (OpenCV, told only that the frame is background) as the classical baseline."""
    from enhance import degrade
    from enhance.background import product_alpha

    val = ImageTextDataset(catalog, 128, "validation", progress=False)
    products, masks = degrade.usable_products(val.images[:count * 2])
    products, masks = products[:count], masks[:count]
    backdrops = ImageTextDataset(photos_dir, 256, "all", fit="crop", progress=False).images
    g = torch.Generator().manual_seed(0)
    composites = []
    for start in range(0, len(products), 50):
        images, truth = degrade.composite(products[start:start + 50].float() / 255, masks[start:start + 50], backdrops, g)
        composites += [(to_pil(image), mask[0].numpy() > 0.5) for image, mask in zip(images, truth)]
    photos = checked_photos(photos_dir)
    iou = lambda predicted, actual: (predicted & actual).sum() / max((predicted | actual).sum(), 1)
    grabcut = lambda image: degrade.photo_mask(np.asarray(image)).astype(np.float32)
    methods = {"ours (shipped)": product_alpha, **{f"segmenter {folder}": partial(product_alpha, model_folder=folder) for folder in segmenters},
               "GrabCut (OpenCV)": grabcut}
    out = {}
    for name, method in methods.items():
        scores, times = [], []
        for image, actual in composites:
            alpha, ms = timed(method, image)
            scores.append(iou(alpha > 0.5, actual))
            times.append(ms)
        real = None if method is grabcut else float(np.mean([iou(method(photo) > 0.5, actual) for photo, actual in photos]))
        out[name] = {"iou": float(np.mean(scores)), "ms": float(np.mean(times)), "iou_photos": real}
    return {"composites": len(composites), "photos": len(photos), "methods": out}


def textbook_auto_tone(image: Image.Image) -> Image.Image:
    """The rules auto tone used before its estimator (the baseline it replaced)."""
    from enhance.models import linear_to_srgb, srgb_to_linear
    from enhance.tone import Tone, apply_tone

    linear = srgb_to_linear(np.asarray(image.convert("RGB"), np.float64) / 255).reshape(-1, 3)
    luminance = linear @ np.array([0.2126, 0.7152, 0.0722])
    usable = (luminance > 0.02) & (linear.max(1) < 0.98)
    means = (linear[usable] if usable.sum() > 100 else linear).mean(0) + 1e-6
    exposure = float(np.clip(np.log2(0.18 / (np.median(luminance) + 1e-6)), -1.5, 1.5))
    low, high = np.percentile(linear_to_srgb(luminance * 2 ** exposure), [1, 99])
    contrast = float(np.clip(0.9 / max(high - low, 1e-3), 1.0, 1.4))
    return apply_tone(image, Tone(exposure, contrast, 0.0, 1.0, tuple(np.clip(means.mean() / means, 0.5, 2.0))))


def tone(photos: list[Image.Image]) -> dict:
    from PIL import ImageOps

    from enhance.tone import auto_tone

    methods = {
        "nothing": lambda image: image,
        "Pillow autocontrast (1 % cut-off)": lambda image: ImageOps.autocontrast(image, cutoff=1),
        "textbook rules (the previous auto tone)": textbook_auto_tone,
        "ours (estimator)": lambda image: auto_tone(image)[0],
    }
    rows = {name: [] for name in methods}
    auto_tone(photos[0])
    for i, photo in enumerate(photos):
        shifted = benchmark_case("tone", photo, i)
        for name, fn in methods.items():
            out, ms = timed(fn, shifted)
            rows[name].append((colour_difference(out, photo), colour_difference(fn(photo), photo), ms))
    return {name: dict(zip(["restore_delta_e", "untouched_delta_e", "ms"], np.array(r).mean(0).tolist())) for name, r in rows.items()}


def peak_memory_mb() -> float:
    code = ("import resource, numpy as np; from PIL import Image; from enhance.upscale import upscale; "
            "upscale(Image.fromarray(np.random.default_rng(0).integers(0, 255, (3000, 4000, 3), dtype=np.uint8)), 4, 'fast'); "
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", required=True, help="held-out photos (clothing-photos/validation)")
    parser.add_argument("--catalog", required=True, help="catalog folder for the background composites (its validation split)")
    parser.add_argument("--limit", type=int, default=None, help="use only the first N photos")
    parser.add_argument("--composites", type=int, default=500)
    parser.add_argument("--segmenter", nargs="*", default=[], metavar="FOLDER", help="other exported segmenters to measure beside the shipped one")
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--only", choices=list(PARTS), help="measure one part only (merged into --out if it holds an earlier run)")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "enhance.json"))
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    data = ImageTextDataset(args.photos, 256, "all", fit="crop", limit=args.limit, progress=False)
    photos = [to_pil(a) for a in data.images]
    print(f"{len(photos)} photos", flush=True)
    results = {"photos": len(photos)}
    if args.only:  # re-measure one part after retraining its model; merged into an earlier full run's file if there is one
        results = json.loads(Path(args.out).read_text()) if Path(args.out).is_file() else results
    for name, (key, measure) in PARTS.items():
        if args.only in (None, name):
            print(name, "…", flush=True)
            results[key] = measure(args, photos)
    if not args.skip_memory and not args.only:
        results["peak_memory_mb_4000x3000_x4"] = peak_memory_mb()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2))
    print(render_table(results))


PARTS = {  # --only name: (results key, measurement)
    "sr": ("sr_x4", lambda args, photos: super_resolution(photos)),
    "sr-products": ("sr_x4_products_on_white", lambda args, photos: super_resolution(products_on_white(args.photos))),
    "generate-sizes": ("generate_8_ms", lambda args, photos: generate_call_ms()),
    "denoise": ("denoise_sigma25", lambda args, photos: denoising(photos)),
    "inpaint": ("inpaint_64px_hole", lambda args, photos: inpainting(photos)),
    "background": ("background", lambda args, photos: background(args.catalog, args.photos, args.composites, args.segmenter)),
    "tone": ("tone", lambda args, photos: tone(photos)),
}


def quality_table(title: str, rows: dict) -> list[str]:
    if all("fd" in v for v in rows.values()):
        return [title, "| method | PSNR | SSIM | perceptual distance ↓ | Fréchet distance to the photos ↓ | ms/img |", "|---|---|---|---|---|---|",
                *(f"| {k} | {v['psnr']:.2f} | {v['ssim']:.3f} | {v['perceptual']:.3f} | {v['fd']:.2f} | {v['ms']:.1f} |" for k, v in rows.items())]
    return [title, "| method | PSNR | SSIM | ms/img |", "|---|---|---|---|",
            *(f"| {k} | {v['psnr']:.2f} | {v['ssim']:.3f} | {v['ms']:.1f} |" for k, v in rows.items())]


def fp32_lines(rows: dict, names: tuple[str, ...], psnr: str = "psnr", label: str = "PSNR") -> list[str]:
    """What the default precision changes against each model's fp32 row: time ratio and PSNR (`rows[…][psnr]`)."""
    return [f"{n}: fp32 / default precision time {rows[f'{n}, fp32']['ms'] / rows[n]['ms']:.2f}×, "
            f"{label} {rows[n][psnr] - rows[f'{n}, fp32'][psnr]:+.3f} dB" for n in names if f"{n}, fp32" in rows]


def render_table(r: dict) -> str:
    lines = []
    if "sr_x4" in r:
        sr = r["sr_x4"]
        lines += quality_table(f"Super-resolution ×4 ({r['photos']} photos, 64→256)", sr)
        lines += [f"ours − bicubic: {sr['ours (fast)']['psnr'] - sr['bicubic']['psnr']:+.2f} dB; "
                  f"Real-ESRGAN / ours time: {sr['Real-ESRGAN (quality)']['ms'] / sr['ours (fast)']['ms']:.1f}×"]
        lines += fp32_lines(sr, ("ours (fast)", "Real-ESRGAN (quality)"))
        lines += [""]
    if "sr_x4_products_on_white" in r:
        lines += quality_table("Super-resolution ×4 of products on white (the checked photos' products, 64→256)", r["sr_x4_products_on_white"]) + [""]
    if "generate_8_ms" in r:
        call = r["generate_8_ms"]
        lines += [f"Generate call, 8 images (ms): 64 px {call['none']:.0f}; " +
                  "; ".join(f"×4 {mode} {call[mode]:.0f} ({call[mode] / call['none']:.1f}×)" for mode in call if mode != "none"), ""]
    if "denoise_sigma25" in r:
        d = r["denoise_sigma25"]
        lines += quality_table("Denoise, Gaussian σ = 25", d)
        best = max((k for k in d if k.startswith("OpenCV")), key=lambda k: d[k]["psnr"])
        lines += [f"ours − best OpenCV ({best}): {d['ours (automatic)']['psnr'] - d[best]['psnr']:+.2f} dB at "
                  f"{d['ours (automatic)']['ms'] / d[best]['ms']:.2f}× its time", *fp32_lines(d, ("ours (automatic)",)), ""]
    if "inpaint_64px_hole" in r:
        i = r["inpaint_64px_hole"]
        lines += ["Inpaint, one 64×64 hole", "| method | PSNR in hole | ms/img |", "|---|---|---|"]
        lines += [f"| {k} | {v['psnr_hole']:.2f} | {v['ms']:.1f} |" for k, v in i.items()]
        lines += [f"ours − Telea: {i['ours']['psnr_hole'] - i['OpenCV Telea']['psnr_hole']:+.2f} dB",
                  *fp32_lines(i, ("ours",), "psnr_hole", "PSNR in hole"), ""]
    if "background" in r:
        b = r["background"]
        lines += [f"Background: IoU on {b['composites']} composites and on {b['photos']} checked everyday photos (against GrabCut's masks)",
                  "| method | composites | photos | ms/img (composites) |", "|---|---|---|---|"]
        lines += [f"| {k} | {v['iou']:.3f} | {'reference' if v['iou_photos'] is None else format(v['iou_photos'], '.3f')} | {v['ms']:.1f} |"
                  for k, v in b["methods"].items()]
    if "tone" in r:
        lines += ["", "Auto tone, seeded exposure and colour-cast shifts (mean ΔE, CIE76)", "| method | restore ↓ | untouched ↓ | ms/img |",
                  "|---|---|---|---|", *(f"| {k} | {v['restore_delta_e']:.2f} | {v['untouched_delta_e']:.2f} | {v['ms']:.1f} |" for k, v in r["tone"].items())]
    if "peak_memory_mb_4000x3000_x4" in r:
        lines.append(f"Peak memory, 4000×3000 ×4 (fast): {r['peak_memory_mb_4000x3000_x4']:.0f} MB")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
