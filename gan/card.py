"""Model card of an exported GAN checkpoint."""
from __future__ import annotations

from core.cards import model_card, started_from

DISCRIMINATOR = "discriminator"  # subfolder of an sngan export (gan/training.py writes and reads it)


def gan_card(info: dict, options: dict) -> str:
    sngan = info["arch"] == "sngan"
    upsampling = "transposed-conv" if options.get("upsample", "transposed") == "transposed" else "nearest-upsampling + 3×3-conv"
    architecture = (f"noise (128) + projected MiniLM text embedding → {upsampling} generator with conditional BatchNorm; "
                    "projection discriminator (spectral norm, BatchNorm, minibatch stddev), hinge loss, "
                    f"Adam {options['lr_g']}/{options['lr_d']} betas {tuple(options['betas'])}, EMA generator"
                    + (f" whose BatchNorm statistics were recomputed for its weights at export ({options['standing_stats']} batches)"
                       if options.get("standing_stats") else "") + ", "
                    f"DiffAugment ({options['augment'] or 'none'}"
                    + (f", adaptive: ADA target {options['ada_target']}" if options.get("ada_target") else "") + ")"
                    + (f", mode-seeking term (MSGAN, weight {options['mode_seeking']})" if options.get("mode_seeking") else "")
                    + (f", 16×16 layout L1 term against the caption's photo (weight {options['layout_l1']})" if options.get("layout_l1") else "")
                    + (f", matching-aware discriminator (GAN-CLS: real images under another item's text count as fake, weight {options['mismatch']})"
                       if options.get("mismatch") else "")
                    + (f", discriminator classifier heads for {' and '.join(options['classify'])} (AC-GAN, weight {options['classify_weight']})"
                       if options.get("classify") else "")) if sngan else "DCGAN (Radford et al. 2015), unconditional, BCE loss"
    return model_card(
        title=f"{'Text-conditional' if info['conditional'] else 'Unconditional'} product GAN, {info['resolution']}×{info['resolution']} ({info['arch']})",
        tags=["gan", "text-to-image"],
        summary="Generator of the Atelier product-image studio, exported from `train.py gan`.",
        load=f"`gan.generate.TextToProduct.from_pretrained(folder)` or `gan.model.{'ConditionalGenerator' if sngan else 'DCGANGenerator'}.from_pretrained(folder)`",
        details={"Architecture": architecture + ".", "Text encoder": f"{info['text_encoder'] or 'none'}.",
                 **started_from(options, f"; the discriminator trained alone for its first {options['d_warmup_steps']} steps"
                                         if options.get("d_warmup_steps") else ""),
                 **({"Discriminator": f"`{DISCRIMINATOR}/` (fp16 safetensors): the discriminator at the end of training, for "
                                      "`train.py gan --init-from` to continue or fine-tune this model without relearning it. The app does not load it."}
                    if sngan else {})},
        options=options, training=info["training"],
        metrics="Run `python bench/generation.py` (protocol in that file); the numbers measured for this checkpoint are added here when it is shipped.",
    )


def discriminator_card(info: dict, options: dict) -> str:
    return model_card(
        title=f"Discriminator of the product GAN, {info['resolution']}×{info['resolution']} (sngan)",
        tags=["gan", "discriminator"],
        summary="The projection discriminator this folder's generator was trained against, shipped so training can continue from it.",
        load="`python train.py gan --init-from <the generator's folder> …` (its classifier heads only for the same classes) "
             "or `gan.model.ProjectionDiscriminator.from_pretrained(folder)`",
        details={}, options=options, training=info["training"],
        metrics="None of its own: see the generator's card one folder up.",
    )
