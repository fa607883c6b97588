"""Training pairs made from clean photos: what a phone, a JPEG encoder or a stain does to them.

Every function takes uint8-free float batches in [0, 1] (N, 3, H, W) and a `torch.Generator`, so a
training step's corruption is reproducible (exact resume).
"""
from __future__ import annotations

import io
import math

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from core.images import to_pil, to_tensor


def uniform(g: torch.Generator, low: float, high: float) -> float:
    return low + (high - low) * float(torch.rand((), generator=g))


def gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    if sigma < 0.1:
        return x
    radius = max(1, math.ceil(3 * sigma))
    t = torch.arange(-radius, radius + 1, dtype=x.dtype)
    kernel = torch.exp(-t ** 2 / (2 * sigma ** 2))
    kernel = kernel / kernel.sum()
    c = x.shape[1]
    x = F.conv2d(F.pad(x, (radius, radius, 0, 0), mode="reflect"), kernel.view(1, 1, 1, -1).repeat(c, 1, 1, 1), groups=c)
    return F.conv2d(F.pad(x, (0, 0, radius, radius), mode="reflect"), kernel.view(1, 1, -1, 1).repeat(c, 1, 1, 1), groups=c)


def jpeg(x: torch.Tensor, quality: int) -> torch.Tensor:
    out = []
    for image in x:
        buffer = io.BytesIO()
        to_pil(image).save(buffer, format="JPEG", quality=quality)
        out.append(to_tensor(Image.open(buffer).convert("RGB")))
    return torch.stack(out)


def downscale(x: torch.Tensor, scale: int, g: torch.Generator, realistic: bool) -> torch.Tensor:
    """Bicubic (the benchmark's degradation) or, when `realistic`, a random mix of blur, resampling
    kernel, sensor noise and JPEG, as phone photos suffer."""
    size = (x.shape[-2] // scale, x.shape[-1] // scale)
    if not realistic:
        return F.interpolate(x, size=size, mode="bicubic", align_corners=False, antialias=True).clamp(0, 1)
    x = gaussian_blur(x, uniform(g, 0.0, 1.2 * scale / 2))
    mode = ["bicubic", "bilinear", "area"][int(torch.randint(3, (), generator=g))]
    x = F.interpolate(x, size=size, mode=mode, **({} if mode == "area" else {"align_corners": False, "antialias": True}))
    if torch.rand((), generator=g) < 0.5:
        x = x + torch.randn(x.shape, generator=g) * uniform(g, 0.0, 8 / 255)
    x = x.clamp(0, 1)
    if torch.rand((), generator=g) < 0.5:
        x = jpeg(x, int(uniform(g, 50, 95)))
    return x


def add_noise(x: torch.Tensor, g: torch.Generator, max_sigma: float = 50 / 255) -> tuple[torch.Tensor, torch.Tensor]:
    """Gaussian noise with a per-image σ uniform in [0, max_sigma]; returns (noisy, σ)."""
    sigma = torch.rand(len(x), generator=g) * max_sigma
    return x + torch.randn(x.shape, generator=g) * sigma.view(-1, 1, 1, 1), sigma


def free_form_masks(n: int, size: int, g: torch.Generator) -> torch.Tensor:
    """(n, 1, size, size) masks of brush strokes and boxes covering roughly 5–40 % (1 = hole)."""
    import cv2

    masks = np.zeros((n, size, size), np.uint8)
    rng = np.random.default_rng(int(torch.randint(2**31, (), generator=g)))
    for mask in masks:
        for _ in range(rng.integers(1, 5)):
            x, y = rng.integers(0, size, 2)
            width = int(rng.integers(size // 20 + 2, size // 6 + 3))
            for _ in range(rng.integers(2, 8)):
                angle, length = rng.uniform(0, 2 * np.pi), rng.integers(size // 10, size // 3)
                nx, ny = int(np.clip(x + length * np.cos(angle), 0, size - 1)), int(np.clip(y + length * np.sin(angle), 0, size - 1))
                cv2.line(mask, (int(x), int(y)), (nx, ny), 1, width)
                x, y = nx, ny
        if rng.random() < 0.5:
            w, h = rng.integers(size // 8, size // 2, 2)
            x, y = rng.integers(0, size - w), rng.integers(0, size - h)
            mask[y:y + h, x:x + w] = 1
    return torch.from_numpy(masks).float().unsqueeze(1)


def telea(images: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """OpenCV's Telea inpainting (radius 5) of float images (N, 3, H, W) in [0, 1] under masks (N, 1, H, W)."""
    import cv2

    out = []
    for image, mask in zip(images, masks):
        filled = cv2.inpaint(np.asarray(to_pil(image)), (mask[0].numpy() > 0.5).astype(np.uint8) * 255, 5, cv2.INPAINT_TELEA)
        out.append(to_tensor(filled))
    return torch.stack(out)


def product_mask(product: np.ndarray, tolerance: int = 18) -> np.ndarray:
    """Mask (H, W) bool of a catalog product photo (H, W, 3 uint8): the background is what is
    connected to the border and close to white (the padding) or to the photo's own backdrop colour
    (often a light grey); the rest, holes filled, is the product."""
    from scipy import ndimage

    pixels = product.astype(np.int16)
    ring = np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])
    ring = ring[(ring < 250).any(1)]
    candidates = (255 - pixels).max(2) <= tolerance
    if len(ring) > 16:
        backdrop = np.median(ring, axis=0)
        candidates |= np.abs(pixels - backdrop).max(2) <= tolerance
    labels, _ = ndimage.label(candidates)
    border = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    background = np.isin(labels, border[border > 0])
    return ndimage.binary_fill_holes(ndimage.binary_opening(~background, iterations=1))


def usable_products(images: torch.Tensor, low: float = 0.05, high: float = 0.8) -> tuple[torch.Tensor, torch.Tensor]:
    """Catalog images whose extracted mask covers a plausible share of the picture, with their masks
    (uint8 0/1); images where the backdrop could not be told apart are dropped."""
    keep, masks = [], []
    for i, image in enumerate(images.permute(0, 2, 3, 1).numpy()):
        mask = product_mask(image)
        if low <= mask.mean() <= high:
            keep.append(i)
            masks.append(torch.from_numpy(mask.astype(np.uint8)))
    return images[keep], torch.stack(masks).unsqueeze(1)


def photo_mask(photo: np.ndarray, border: float = 0.03, iterations: int = 5) -> np.ndarray:
    """Mask (H, W) bool of the product in an everyday photo (H, W, 3 uint8), which has no white
    backdrop to give one: GrabCut (Rother et al. 2004) told only that a thin frame around the picture
    is background. It tells a garment from the floor or bed it lies on by their colours (prints and
    knits included, where the segmenter trained on catalog products fails) and errs where they share them."""
    import cv2

    labels = np.full(photo.shape[:2], cv2.GC_PR_FGD, np.uint8)
    b = max(2, round(border * min(photo.shape[:2])))
    labels[:b], labels[-b:], labels[:, :b], labels[:, -b:] = cv2.GC_BGD, cv2.GC_BGD, cv2.GC_BGD, cv2.GC_BGD
    cv2.setRNGSeed(0)  # its colour models start from k-means: the same photo always gives the same mask
    cv2.grabCut(np.ascontiguousarray(photo), labels, None, np.zeros((1, 65)), np.zeros((1, 65)), iterations, cv2.GC_INIT_WITH_MASK)
    return np.isin(labels, (cv2.GC_FGD, cv2.GC_PR_FGD))


def usable_photos(photos: torch.Tensor, mask_size: int = 128, low: float = 0.05, high: float = 0.8) -> tuple[torch.Tensor, torch.Tensor]:
    """Everyday photos (uint8 N×3×S×S) whose `photo_mask` covers a plausible share of the picture,
    with their masks (floats N×1×S×S, soft at the edges). GrabCut runs on a `mask_size` copy (0.08 s
    a photo instead of 0.4 at 256 px), on every core (OpenCV releases the GIL)."""
    import os
    from concurrent.futures import ThreadPoolExecutor

    small = F.interpolate(photos.float(), size=(mask_size, mask_size), mode="area").round().to(torch.uint8)
    with ThreadPoolExecutor(os.cpu_count()) as pool:
        masks = list(pool.map(photo_mask, small.permute(0, 2, 3, 1).numpy()))
    keep = [i for i, m in enumerate(masks) if low <= m.mean() <= high]
    if not keep:
        return photos[:0], torch.zeros(0, 1, *photos.shape[-2:])
    masks = torch.from_numpy(np.stack([masks[i] for i in keep])).float().unsqueeze(1)
    return photos[keep], F.interpolate(masks, size=photos.shape[-2:], mode="bilinear", align_corners=False)


def photo_crops(photos: torch.Tensor, masks: torch.Tensor, count: int, size: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """`count` random photos (uint8), each cropped to a random square of 3/4 to all of its side,
    flipped half the time and resized to `size`: (images floats in [0, 1], masks). The crops keep the
    product's surroundings in view, as a whole photo does: crops down to half the side, often inside
    a garment, taught the network that a whole picture can be product, and it then kept floors and sofas."""
    images, targets = [], []
    for _ in range(count):
        i = int(torch.randint(len(photos), (), generator=g))
        side = photos.shape[-1]
        crop = int(torch.randint(3 * side // 4, side + 1, (), generator=g))
        top, left = (int(torch.randint(side - crop + 1, (), generator=g)) for _ in range(2))
        pair = torch.cat([photos[i].float() / 255, masks[i]])[None, :, top:top + crop, left:left + crop]
        pair = F.interpolate(pair, size=(size, size), mode="bilinear", antialias=True, align_corners=False)[0]
        pair = pair.flip(-1) if torch.rand((), generator=g) < 0.5 else pair
        images.append(pair[:3])
        targets.append(pair[3:])
    return torch.stack(images).clamp(0, 1), torch.stack(targets).clamp(0, 1)


def backgrounds(n: int, size: int, photos: torch.Tensor, g: torch.Generator, soften: float = 0.0) -> torch.Tensor:
    """Varied backgrounds: crops of real photos, flat colours, linear gradients (a third each).
    A `soften` share of the photo crops pass through 40–80 % of the size first, as soft as the
    upscaled 60×80 catalog products, so that sharpness alone does not tell background from product."""
    out = torch.empty(n, 3, size, size)
    for i in range(n):
        kind = int(torch.randint(3, (), generator=g))
        if kind == 0:
            photo = photos[int(torch.randint(len(photos), (), generator=g))].float() / 255
            crop = int(torch.randint(size // 2, photo.shape[-1] + 1, (), generator=g))
            top, left = (int(torch.randint(photo.shape[-1] - crop + 1, (), generator=g)) for _ in range(2))
            patch = photo[None, :, top:top + crop, left:left + crop]
            if torch.rand((), generator=g) < soften:
                low = round(size * uniform(g, 0.4, 0.8))
                patch = F.interpolate(patch, size=(low, low), mode="bilinear", antialias=True, align_corners=False)
            out[i] = F.interpolate(patch, size=(size, size), mode="bilinear", align_corners=False)[0]
        elif kind == 1:
            out[i] = torch.rand(3, 1, 1, generator=g).expand(3, size, size)
        else:
            a, b = torch.rand(3, 1, 1, generator=g), torch.rand(3, 1, 1, generator=g)
            ramp = torch.linspace(0, 1, size).view(1, 1, -1) if torch.rand((), generator=g) < 0.5 else torch.linspace(0, 1, size).view(1, -1, 1)
            out[i] = a + (b - a) * ramp
    return out


def print_on(products: torch.Tensor, g: torch.Generator, fraction: float) -> torch.Tensor:
    """Give `fraction` of the products a procedural print, shaded by their own lightness: most
    catalog products are plain, most photographed clothes are not."""
    from core.textures import random_textures

    printed = products.clone()
    chosen = (torch.rand(len(products), generator=g) < fraction).nonzero().flatten().tolist()
    if chosen:
        lightness = products[chosen].mean(1, keepdim=True)
        printed[chosen] = random_textures(len(chosen), products.shape[-1], g) * (0.4 + 0.6 * lightness / lightness.amax((2, 3), keepdim=True).clamp_min(1e-3))
    return printed


def composite(products: torch.Tensor, masks: torch.Tensor, photos: torch.Tensor, g: torch.Generator,
              print_fraction: float = 0.0, soften_fraction: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Catalog products (floats) pasted with their masks, randomly scaled and shifted, onto varied
    backgrounds (some given a print first); edges softened a little as a camera would. Returns (image, mask)."""
    n, _, size, _ = products.shape
    products = print_on(products, g, print_fraction)
    mask = gaussian_blur(masks.float(), 0.6)
    scale = torch.rand(n, generator=g) * 0.5 + 0.7
    shift = (torch.rand(n, 2, generator=g) - 0.5) * 0.4
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0] = theta[:, 1, 1] = 1 / scale
    theta[:, :, 2] = shift
    grid = F.affine_grid(theta, products.shape, align_corners=False)
    products = F.grid_sample(products, grid, padding_mode="border", align_corners=False)
    mask = F.grid_sample(mask, grid, padding_mode="zeros", align_corners=False)
    image = products * mask + backgrounds(n, size, photos, g, soften_fraction) * (1 - mask)
    image = image * uniform(g, 0.8, 1.15) + (torch.randn(image.shape, generator=g) * 0.02)
    return image.clamp(0, 1), mask


TONE_RANGE = (1.0, 0.3, 0.1)  # largest exposure (stops), warm–cool and green–magenta shifts


def shift_tone(x: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """Photos (N, 3, H, W) in [0, 1] with their exposure and colour cast moved by `shift` (N, 3)
    (`enhance.models.log2_gains`), on linear light as a camera would, clipped where it saturates."""
    from enhance.models import linear_to_srgb, log2_gains, srgb_to_linear

    return linear_to_srgb(srgb_to_linear(x) * torch.exp2(log2_gains(shift)).view(-1, 3, 1, 1))


def shift_photo_tone(photo: Image.Image, shift: torch.Tensor) -> Image.Image:
    """`shift_tone` for one RGB photo; `shift` (1, 3)."""
    return to_pil(shift_tone(to_tensor(photo)[None], shift)[0])


def random_tone_shifts(n: int, g: torch.Generator, untouched: float = 0.0) -> torch.Tensor:
    """(n, 3) shifts uniform within ±TONE_RANGE; a share `untouched` of them zero (photos that need nothing)."""
    shifts = (torch.rand(n, 3, generator=g) * 2 - 1) * torch.tensor(TONE_RANGE)
    return shifts * (torch.rand(n, 1, generator=g) >= untouched)


def benchmark_case(kind: str, photo: Image.Image, index: int):
    """The fixed corruption the benchmark and `evaluate.py` apply to clean photo number `index`:
    sr → 64×64 bicubic downscale (of a 256×256 crop: ×4); denoise → Gaussian σ = 25;
    inpaint → (photo, a 64×64 square hole mask at a seeded position); tone → the photo with a
    seeded exposure and colour-cast shift (`shift_tone`)."""
    if kind == "sr":
        return photo.resize((photo.width // 4, photo.height // 4), Image.Resampling.BICUBIC)  # Pillow's downscaling is antialiased
    if kind == "denoise":
        clean = np.asarray(photo, np.float64)
        return Image.fromarray(np.clip(clean + np.random.default_rng(index).normal(0, 25, clean.shape) + 0.5, 0, 255).astype(np.uint8))
    if kind == "inpaint":
        top = np.random.default_rng(1000 + index).integers(16, photo.height - 64 - 16)
        left = np.random.default_rng(2000 + index).integers(16, photo.width - 64 - 16)
        mask = np.zeros((photo.height, photo.width), np.uint8)
        mask[top:top + 64, left:left + 64] = 1
        return mask
    if kind == "tone":
        return shift_photo_tone(photo, random_tone_shifts(1, torch.Generator().manual_seed(3000 + index)))
    raise ValueError(f"no benchmark case for {kind!r}")
