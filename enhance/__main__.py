"""python -m enhance OPERATION INPUT OUTPUT [options] — the enhancement studio from the shell.

    python -m enhance upscale photo.jpg big.png --scale 4 --mode quality
    python -m enhance denoise photo.jpg clean.png --strength 0          # 0 = estimate the noise
    python -m enhance inpaint photo.jpg fixed.png --mask mask.png       # white = repair
    python -m enhance tone photo.jpg toned.png --exposure 0.3
    python -m enhance background photo.jpg cutout.png --background transparent
"""
from __future__ import annotations

import argparse
import sys

from tqdm.auto import tqdm

from core.checkpoints import CheckpointError
from core.images import ImageError
from enhance import EnhanceError


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m enhance", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("operation", choices=["upscale", "denoise", "inpaint", "tone", "background"])
    parser.add_argument("input")
    parser.add_argument("output", help="PNG (or any format Pillow writes)")
    parser.add_argument("--scale", type=int, default=4, choices=[2, 4])
    parser.add_argument("--mode", default="fast", choices=["fast", "quality"])
    parser.add_argument("--strength", type=float, default=0.0, help="denoise: noise σ 1–50, 0 = automatic")
    parser.add_argument("--mask", help="inpaint: mask image, white = repair")
    parser.add_argument("--method", default="learned", choices=["learned", "opencv"])
    parser.add_argument("--background", default="white", choices=["white", "transparent"])
    for name in ("exposure", "contrast", "warmth", "saturation"):
        parser.add_argument(f"--{name}", type=float, default=None, help="tone: override the automatic value")
    args = parser.parse_args(argv)
    try:
        with tqdm(total=100, desc=args.operation, unit="%") as bar:
            progress = lambda fraction: bar.update(round(fraction * 100) - bar.n)
            if args.operation == "upscale":
                from enhance.upscale import upscale
                result = upscale(args.input, args.scale, args.mode, progress)
            elif args.operation == "denoise":
                from enhance.denoise import denoise
                result, sigma = denoise(args.input, args.strength, progress)
                bar.write(f"noise σ used: {sigma:.1f}")
            elif args.operation == "inpaint":
                from enhance.inpaint import inpaint
                if not args.mask:
                    parser.error("inpaint needs --mask")
                result = inpaint(args.input, args.mask, args.method)
            elif args.operation == "tone":
                from enhance.tone import auto_tone
                result, settings = auto_tone(args.input, args.exposure, args.contrast, args.warmth, args.saturation)
                bar.write(f"settings: {settings}")
            else:
                from enhance.background import remove_background
                result = remove_background(args.input, args.background)
            progress(1.0)
        result.save(args.output)
    except (EnhanceError, ImageError, CheckpointError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
