"""Model card of an exported GAN checkpoint."""
from __future__ import annotations

from core.cards import model_card


def gan_card(info: dict, options: dict) -> str:
    sngan = info["arch"] == "sngan"
    architecture = ("noise (128) + projected MiniLM text embedding → transposed-conv generator with conditional BatchNorm; "
                    "projection discriminator (spectral norm, BatchNorm, minibatch stddev), hinge loss, "
                    f"Adam {options['lr_g']}/{options['lr_d']} betas {tuple(options['betas'])}, EMA generator, "
                    f"DiffAugment ({options['augment'] or 'none'})"
                    + (f", mode-seeking term (MSGAN, weight {options['mode_seeking']})" if options.get("mode_seeking") else "")
                    + (f", discriminator classifier heads for {' and '.join(options['classify'])} (AC-GAN, weight {options['classify_weight']})"
                       if options.get("classify") else "")) if sngan else "DCGAN (Radford et al. 2015), unconditional, BCE loss"
    return model_card(
        title=f"{'Text-conditional' if info['conditional'] else 'Unconditional'} product GAN, {info['resolution']}×{info['resolution']} ({info['arch']})",
        tags=["gan", "text-to-image"],
        summary="Generator of the Atelier product-image studio, exported from `train.py gan`.",
        load=f"`gan.generate.TextToProduct.from_pretrained(folder)` or `gan.model.{'ConditionalGenerator' if sngan else 'DCGANGenerator'}.from_pretrained(folder)`",
        details={"Architecture": architecture + ".", "Text encoder": f"{info['text_encoder'] or 'none'}.",
                 **({"Started from": f"the exported generator `{options['init_from']}` (`--init-from`); a new discriminator, trained alone for "
                                     f"its first {options.get('d_warmup_steps', 0)} steps. The training line counts this run only."}
                    if options.get("init_from") else {})},
        options=options, training=info["training"],
        metrics="Run `python bench/generation.py` (protocol in that file); the numbers measured for this checkpoint are added here when it is shipped.",
    )
