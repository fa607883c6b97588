"""The one way images enter Atelier: open, validate, normalise to RGB, pad to a square, resize;
and the one way a picture crosses between PIL and a tensor (`to_tensor`, `to_pil`).

Every capability (training data, uploads in the app, benchmarks) goes through `load_image`,
so a photo a user hands us is treated the same everywhere.
"""
from __future__ import annotations

import io
import os
from pathlib import Path
from typing import BinaryIO, Union

import numpy as np
import torch
from PIL import Image, ImageOps

# Refuse decompression bombs with our own message instead of PIL's warning/exception text.
MAX_PIXELS = 40_000_000
Image.MAX_IMAGE_PIXELS = None

IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff"}

ImageSource = Union[str, os.PathLike, bytes, BinaryIO, Image.Image, np.ndarray]


class ImageError(ValueError):
    """An input that is not a usable image; the message is meant for the user."""


def _open(source: ImageSource) -> Image.Image:
    if isinstance(source, Image.Image):
        return source
    if isinstance(source, np.ndarray):
        if source.dtype != np.uint8:
            source = np.clip(source, 0, 255).astype(np.uint8)
        return Image.fromarray(source)
    if isinstance(source, bytes):
        source = io.BytesIO(source)
    name = Path(source).name if isinstance(source, (str, os.PathLike)) else "upload"
    if isinstance(source, (str, os.PathLike)):
        if not os.path.isfile(source):
            raise ImageError(f"{name}: file not found")
        if os.path.getsize(source) == 0:
            raise ImageError(f"{name}: the file is empty (0 bytes)")
    try:
        return Image.open(source)
    except Exception as e:  # PIL raises several unrelated types for non-images
        raise ImageError(f"{name}: not a readable image ({type(e).__name__})") from None


def to_rgb(image: Image.Image, background=(255, 255, 255)) -> Image.Image:
    """Any PIL mode (RGBA, LA, P, CMYK, I;16, I, F, L, 1) → 8-bit RGB; alpha is composited."""
    if image.mode == "RGB":
        return image
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.asarray(image, dtype=np.float64)
        top = 65535.0 if arr.max() > 255 else 255.0
        return Image.fromarray(np.clip(arr / top * 255.0 + 0.5, 0, 255).astype(np.uint8)).convert("RGB")
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        canvas = Image.new("RGB", rgba.size, background)
        canvas.paste(rgba, mask=rgba.getchannel("A"))
        return canvas
    return image.convert("RGB")


def load_image(source: ImageSource, max_pixels: int = MAX_PIXELS) -> Image.Image:
    """Open and validate an image from a path, bytes, file object, array or PIL image.

    Returns an upright 8-bit RGB image. Raises `ImageError` with a user-facing message for
    anything that is not a usable image (empty, truncated, not an image, too many pixels).
    """
    return to_rgb(open_image(source, max_pixels))


def open_image(source: ImageSource, max_pixels: int = MAX_PIXELS) -> Image.Image:
    """`load_image`'s checks, but the upright image keeps its own mode (a mask's alpha, say)."""
    image = _open(source)
    width, height = image.size
    if width < 1 or height < 1:
        raise ImageError("the image has no pixels")
    if width * height > max_pixels:
        raise ImageError(
            f"the image is {width}×{height} = {width * height / 1e6:.1f} megapixels; "
            f"the limit is {max_pixels / 1e6:.0f} megapixels"
        )
    try:
        image.load()
        image = ImageOps.exif_transpose(image)
    except Exception as e:
        raise ImageError(f"the image data is damaged or truncated ({type(e).__name__})") from None
    return image


def pad_to_square(image: Image.Image, fill=(255, 255, 255)) -> Image.Image:
    """Centre the image on a square canvas (white by default: catalog photos have white backgrounds)."""
    width, height = image.size
    side = max(width, height)
    if width == height:
        return image
    canvas = Image.new("RGB", (side, side), fill)
    canvas.paste(image, ((side - width) // 2, (side - height) // 2))
    return canvas


def centre_crop_square(image: Image.Image) -> Image.Image:
    width, height = image.size
    side = min(width, height)
    left, top = (width - side) // 2, (height - side) // 2
    return image.crop((left, top, left + side, top + side))


def prepare_square(image: Image.Image, size: int, fill=(255, 255, 255), fit: str = "pad") -> Image.Image:
    """Make a `size`×`size` model input: pad to a square (catalog products: keep the whole product)
    or, with fit="crop", take the centre square (photos: no artificial borders)."""
    square = pad_to_square(image, fill) if fit == "pad" else centre_crop_square(image)
    if square.size != (size, size):
        square = square.resize((size, size), Image.Resampling.BICUBIC if size > square.size[0] else Image.Resampling.LANCZOS)
    return square


def frame_pixels(image: Image.Image | np.ndarray, width: int) -> np.ndarray:
    """The pixels (N, 3) of a picture's outer `width` rows and columns, the corners counted twice."""
    pixels = np.asarray(image)
    return np.concatenate([pixels[:width].reshape(-1, 3), pixels[-width:].reshape(-1, 3),
                           pixels[:, :width].reshape(-1, 3), pixels[:, -width:].reshape(-1, 3)])


def to_tensor(image: Image.Image | np.ndarray, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """An RGB picture (PIL image or H×W×3 uint8 array) → a (3, H, W) tensor: floats in [0, 1], or
    the uint8 levels themselves with `dtype=torch.uint8`."""
    pixels = torch.from_numpy(np.array(image, dtype=np.uint8)).permute(2, 0, 1)
    return pixels if dtype == torch.uint8 else pixels.to(dtype) / 255


def to_pil(pixels: torch.Tensor) -> Image.Image:
    """A (3, H, W) tensor, uint8 or floats in [0, 1] (clipped, rounded to the nearest level) → an RGB image."""
    if pixels.dtype != torch.uint8:
        pixels = pixels.detach().float().clamp(0, 1).mul(255).round().to(torch.uint8)
    return Image.fromarray(pixels.permute(1, 2, 0).cpu().numpy())
