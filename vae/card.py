"""Model card of an exported VAE checkpoint."""
from __future__ import annotations

from core.cards import model_card


def vae_card(info: dict, options: dict) -> str:
    return model_card(
        title=f"Product VAE, {info['resolution']}×{info['resolution']}, {info['latent_dim']}-d latent",
        tags=["vae", "latent-editing"],
        summary="Encoder/decoder of the Atelier latent-space studio (Sliders tab), exported from `train.py vae`.",
        load="`vae.model.VAE.from_pretrained(folder)`; directions for the sliders are in `directions.safetensors` beside it",
        details={"Architecture": "strided-conv encoder to 4×4 → linear (μ, log σ²) → transposed-conv decoder with BatchNorm; "
                                 f"loss MSE + {options['perceptual_weight']} × EfficientNet-Lite0 feature distance + "
                                 f"{options['kl_weight']} × KL (nats)"
                                 + (f" + {options['classify_weight']} × cross-entropy of a linear head reading "
                                    f"{', '.join(options['classify'])} from μ" if options.get("classify") else "")
                                 + f", Adam {options['lr']}."},
        options=options, training=info["training"],
        metrics="Run `python bench/latent.py` (protocol in that file); the numbers measured for this checkpoint are added here when it is shipped.",
    )
