"""Colour variants: recolour the product to a named or picked colour, shading and texture kept,
background untouched.

In CIELAB the product's lightness keeps its pattern of shading and texture (shifted to the target's
lightness, squeezed when the move would clip), while its chroma becomes the target's; the result
is blended in with the product mask, so background pixels do not change.
"""
from __future__ import annotations

import re

import numpy as np
from PIL import Image, ImageColor

from core.images import ImageSource, load_image
from style import StyleError
from style.transfer import inside_product, product_weight

# The catalog's colour names that CSS does not know (CSS covers the rest: red, navy, teal, olive…)
CATALOG_COLOURS = {
    "bronze": "#cd7f32", "burgundy": "#800020", "charcoal": "#36454f", "coffee brown": "#6f4e37", "copper": "#b87333",
    "cream": "#f3e5c0", "fluorescent green": "#39ff14", "grey melange": "#9e9e9e", "mauve": "#b784a7", "metallic": "#aaa9ad",
    "mushroom brown": "#a08a73", "mustard": "#d4a017", "navy blue": "#1f2a56", "nude": "#e3bc9a", "off white": "#f4f1e8",
    "peach": "#ffcba4", "rose": "#e8a0a8", "rust": "#b7410e", "skin": "#e8b894", "steel": "#7b8a96", "taupe": "#8b8589",
    "turquoise blue": "#30b8c8",
}
DEFAULT_PALETTE = ("red", "navy blue", "mustard", "olive", "pink", "black")
ACCEPTED = ("a colour name (CSS names such as red, teal, navy, or catalog names such as navy blue, mustard, off white), "
            "a hex code such as #1f3a93, or rgb(200, 30, 30)")


def parse_colour(colour) -> tuple[int, int, int]:
    """A user's colour → (r, g, b) in 0–255, or a StyleError listing the accepted forms."""
    if isinstance(colour, (tuple, list)) and len(colour) == 3 and all(isinstance(c, int) and 0 <= c <= 255 for c in colour):
        return tuple(colour)
    text = re.sub(r"\s+", " ", str(colour).strip().lower()) if isinstance(colour, str) else ""
    if not text:
        raise StyleError(f"give a colour: {ACCEPTED}")
    if text in CATALOG_COLOURS:
        text = CATALOG_COLOURS[text]
    numbers = re.fullmatch(r"rgba?\(\s*([\d.]+)\s*,\s*([\d.]+)\s*,\s*([\d.]+)\s*(?:,\s*[\d.]+\s*)?\)", text)
    if numbers and all(float(n) <= 255 for n in numbers.groups()):  # colour pickers send fractional rgba(…)
        return tuple(round(float(n)) for n in numbers.groups())
    for candidate in (text, text.replace(" ", ""), text.replace("gray", "grey").replace(" ", "")):
        try:
            rgb = ImageColor.getrgb(candidate)[:3]
        except ValueError:
            continue
        if all(0 <= c <= 255 for c in rgb):
            return rgb
    raise StyleError(f"unknown colour {str(colour).strip()[:60]!r}; use {ACCEPTED}")


def to_lab(rgb: np.ndarray) -> np.ndarray:
    import cv2

    return cv2.cvtColor(rgb.astype(np.float32) / 255, cv2.COLOR_RGB2Lab)


def from_lab(lab: np.ndarray) -> np.ndarray:
    import cv2

    return np.clip(cv2.cvtColor(lab.astype(np.float32), cv2.COLOR_Lab2RGB) * 255, 0, 255)


class Product:
    """A photo with its product mask and CIELAB pixels, computed once for any number of colours."""

    def __init__(self, image: ImageSource):
        self.image = load_image(image)
        self.weight = product_weight(self.image)
        self.inside = self.weight > 0.5
        if self.inside.sum() < 16:
            raise StyleError("no product found in this photo to recolour (the background segmenter sees only background)")
        self.lab = to_lab(np.asarray(self.image))

    def recolored(self, colour) -> Image.Image:
        target = to_lab(np.array([[parse_colour(colour)]], np.uint8))[0, 0]
        lightness = self.lab[..., 0]
        mean = float(lightness[self.inside].mean())
        # shading keeps its shape; its amplitude shrinks only as far as needed to stay within 0–100
        squeeze = min(1.0, (target[0] + 5) / (mean + 5), (105 - target[0]) / (105 - mean))
        recoloured = np.empty_like(self.lab)
        recoloured[..., 0] = np.clip(target[0] + (lightness - mean) * squeeze, 0, 100)
        recoloured[..., 1], recoloured[..., 2] = target[1], target[2]
        return inside_product(from_lab(recoloured), self.image, self.weight)


def recolor(image: ImageSource, colour) -> Image.Image:
    """The photo with its product in `colour` (see `parse_colour` for the accepted forms)."""
    parse_colour(colour)  # a bad name is refused before the photo is read
    return Product(image).recolored(colour)


def recolor_palette(image: ImageSource, colours=DEFAULT_PALETTE) -> list[tuple[Image.Image, str]]:
    """One variant per colour (4–8 of them): [(image, colour name), …]; the product is found once."""
    colours = [str(c).strip() for c in (colours.split(",") if isinstance(colours, str) else colours) if str(c).strip()]
    if not 1 <= len(colours) <= 8:
        raise StyleError(f"give 1 to 8 colours separated by commas, got {len(colours)}")
    for c in colours:
        parse_colour(c)  # every name checked before any work is done
    product = Product(image)
    return [(product.recolored(c), c) for c in colours]
