"""Model card of an exported enhancement checkpoint."""
from __future__ import annotations

from core.cards import model_card, started_from

DESCRIPTIONS = {
    "sr": ("Super-resolution ×2/×4 (fast mode)", "a residual body at low resolution with pixel-shuffle ×2 and ×4 heads, "
           "added to bicubic upsampling; trained on bicubic and realistic (blur, noise, JPEG) downscales with L1 + perceptual loss"),
    "denoise": ("Blind denoiser", "DnCNN-style residual network with a noise-level map input (as FFDNet), trained on Gaussian noise "
                "σ ∈ [0, 50]/255 with MSE; the level is estimated from the photo unless a strength is given"),
    "inpaint": ("Inpainting (repair)", "U-Net with a dilated bottleneck that corrects OpenCV's Telea fill (zero-initialised: it starts as Telea), "
                "trained on random free-form strokes and boxes with L1 or MSE on the hole (--hole-loss; + perceptual if --perceptual-weight)"),
    "segment": ("Product / background segmentation", "small U-Net trained on catalog products (masks from their white backgrounds) "
                "composited onto photo crops (some softened to the products' sharpness), flat colours and gradients, some products "
                "given a procedural print, and (`--photo-fraction`) the everyday photos themselves with GrabCut's masks; BCE + Dice loss"),
    "tone": ("Auto-tone estimator", "MLP on colour statistics (log-chroma and luminance histograms) that predicts a photo's exposure "
             "and colour-cast shift; trained on photos shifted by up to ±1 stop, ±0.3 warm–cool, ±0.1 green–magenta (a third "
             "unshifted) with MSE on the per-channel log2 gains"),
}


def enhance_card(info: dict, options: dict) -> str:
    title, architecture = DESCRIPTIONS[info["kind"]]
    return model_card(
        title=title, tags=["image-enhancement", info["kind"]],
        summary=f"One of the Atelier enhancement models, exported from `train.py {info['kind']}`.",
        load="`enhance` (see `enhance/__init__.py`), or `enhance.models` classes with `from_pretrained(folder)`",
        details={"Architecture": architecture + f", Adam {options['lr']}.",
                 **started_from(options, f"; exported weights are {options['export_blend']} × the fine-tuned ones + "
                                         f"{1 - options['export_blend']:.2g} × those (`--export-blend`, WiSE-FT)" if options["export_blend"] < 1 else "")},
        options=options, training=info["training"],
        metrics="Run `python bench/enhance.py` (protocol in that file); the numbers measured for this checkpoint are added here when it is shipped.",
    )
