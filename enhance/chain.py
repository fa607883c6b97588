"""Several enhancements in one go, in the order that makes sense for a phone photo of a product:
repair → denoise → auto tone → clean background → upscale (upscaling last keeps every other step
on the small image; a transparent cut-out keeps its alpha through the upscale)."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from core.images import ImageSource, load_image
from enhance import EnhanceError
from enhance.tiling import Progress

ORDER = ("repair", "denoise", "tone", "background", "upscale")


@dataclass
class Settings:
    mask: object = None           # repair: mask image (white = repair)
    strength: float = 0.0         # denoise: 0 = automatic
    tone: dict = field(default_factory=dict)   # auto_tone overrides (exposure, contrast, warmth, saturation)
    background: str = "white"
    scale: int = 4
    mode: str = "fast"


def enhance_photo(image: ImageSource, operations: list[str], settings: Settings, progress: Progress = None) -> tuple[Image.Image, list[str]]:
    """Apply the chosen operations in ORDER; returns the result and a log line per step."""
    unknown = [o for o in operations if o not in ORDER]
    if unknown:
        raise EnhanceError(f"unknown operation(s) {', '.join(map(str, unknown))}; choose from {', '.join(ORDER)}")
    if not operations:
        raise EnhanceError("choose at least one operation")
    image = load_image(image)
    steps = [o for o in ORDER if o in operations]
    log, alpha = [], None
    for i, step in enumerate(steps):
        report = (lambda f, i=i: progress((i + f) / len(steps))) if progress else None
        if step == "repair":
            from enhance.inpaint import inpaint
            if settings.mask is None:
                raise EnhanceError("repair needs a mask: brush over the area to repair")
            image = inpaint(image, settings.mask)
            log.append("repaired the brushed area")
        elif step == "denoise":
            from enhance.denoise import denoise
            image, sigma = denoise(image, settings.strength, report)
            log.append(f"denoised (noise σ {sigma:.1f}{', estimated' if not settings.strength else ''})")
        elif step == "tone":
            from enhance.tone import auto_tone
            image, used = auto_tone(image, **settings.tone)
            log.append("tone: " + ", ".join(f"{k} {v:.2f}" for k, v in used.items() if k != "white_balance")
                       + ", white balance " + " ".join(f"{c}×{g:.2f}" for c, g in zip("RGB", used["white_balance"])))
        elif step == "background":
            from enhance.background import remove_background
            cut = remove_background(image, settings.background)
            if cut.mode == "RGBA":
                alpha, image = cut.getchannel("A"), cut.convert("RGB")
            else:
                image = cut
            log.append(f"background → {settings.background}")
        else:
            from enhance.upscale import upscale
            if settings.mode == "quality" and max(image.size) > 1024:
                log.append("note: quality mode takes about a second per 128×128 tile on a CPU")
            image = upscale(image, settings.scale, settings.mode, report)
            if alpha is not None:
                alpha = alpha.resize(image.size, Image.Resampling.BICUBIC)
            log.append(f"upscaled ×{settings.scale} ({settings.mode})")
    if alpha is not None:
        image = Image.fromarray(np.dstack([np.asarray(image), np.asarray(alpha)]), "RGBA")
    image.info["operations"] = " → ".join(steps)
    return image, log
