"""Style studio: arbitrary style transfer onto products, product-only styling and colour variants.

    from style.transfer import stylize     # stylize(content, style, strength=1.0, preserve_color=False,
                                           #         product_only=False, mode="fast"|"quality")
    from style.recolor import recolor      # recolor(photo, "navy blue" | "#1f3a93" | "rgb(200,30,30)")
    from core.textures import example_styles   # procedural example styles (stripes, checks, dots…)

or from the shell: `python -m style stylize photo.jpg print.png out.png --strength 0.8` (see `python -m style -h`).
"""


class StyleError(ValueError):
    """A request style transfer or recolouring cannot serve (bad strength, unknown colour…); the message is for the user."""
