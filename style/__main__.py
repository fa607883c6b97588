"""python -m style OPERATION … — the style studio from the shell.

    python -m style stylize photo.jpg pattern.png out.png --strength 0.8 --product-only
    python -m style stylize photo.jpg pattern.png out.png --mode quality --steps 200
    python -m style stylize photo.jpg a.png out.png --style2 b.png --mix 0.3 --preserve-color
    python -m style recolor photo.jpg out.png --color "navy blue"
    python -m style palette photo.jpg variants/ --colors "red, navy blue, mustard, olive"
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tqdm.auto import tqdm

from core.checkpoints import CheckpointError
from core.images import ImageError
from style import StyleError


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m style", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="operation", required=True)
    stylize_parser = sub.add_parser("stylize", help="restyle a photo after a style image")
    stylize_parser.add_argument("content")
    stylize_parser.add_argument("style")
    stylize_parser.add_argument("output")
    stylize_parser.add_argument("--strength", type=float, default=1.0, help="0 = the photo, 1 = fully styled")
    stylize_parser.add_argument("--preserve-color", action="store_true", help="keep the photo's colours")
    stylize_parser.add_argument("--product-only", action="store_true", help="style the product, keep the background")
    stylize_parser.add_argument("--mode", default="fast", choices=["fast", "quality"])
    stylize_parser.add_argument("--style2", help="a second style to mix in")
    stylize_parser.add_argument("--mix", type=float, default=0.5, help="share of --style2")
    stylize_parser.add_argument("--size", type=int, default=512, help="longer side of the result")
    stylize_parser.add_argument("--steps", type=int, default=150, help="quality mode: optimisation steps")
    recolor_parser = sub.add_parser("recolor", help="recolour the product")
    recolor_parser.add_argument("input")
    recolor_parser.add_argument("output")
    recolor_parser.add_argument("--color", required=True, help="a name, #hex or rgb(r, g, b)")
    palette_parser = sub.add_parser("palette", help="one recoloured variant per colour")
    palette_parser.add_argument("input")
    palette_parser.add_argument("folder")
    palette_parser.add_argument("--colors", default=None, help="comma-separated (default: a six-colour palette)")
    args = parser.parse_args(argv)
    try:
        if args.operation == "stylize":
            from style.transfer import stylize

            with tqdm(total=100, desc=f"stylize ({args.mode})", unit="%") as bar:
                result = stylize(args.content, args.style, args.strength, args.preserve_color, args.product_only, args.mode,
                                 args.style2, args.mix, args.size, args.steps, progress=lambda f: bar.update(round(f * 100) - bar.n))
            result.save(args.output)
            print(args.output)
        elif args.operation == "recolor":
            from style.recolor import recolor

            recolor(args.input, args.color).save(args.output)
            print(args.output)
        else:
            from style.recolor import DEFAULT_PALETTE, recolor_palette

            folder = Path(args.folder)
            folder.mkdir(parents=True, exist_ok=True)
            for image, name in recolor_palette(args.input, args.colors or DEFAULT_PALETTE):
                path = folder / f"{name.replace(' ', '-').replace('#', '')}.png"
                image.save(path)
                print(path)
    except (StyleError, ImageError, CheckpointError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
