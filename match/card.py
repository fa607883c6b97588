"""Model card of an exported matching model."""
from __future__ import annotations

from core.cards import model_card


def match_card(info: dict, options: dict) -> str:
    return model_card(
        title="Text–image matching heads (MiniLM × EfficientNet-Lite0)",
        tags=["text-image-matching", "retrieval"],
        summary="Scores how well a product image matches a description (cosine in [−1, 1]); exported from `train.py match`.",
        load="`match.score.Matcher.from_pretrained(folder)`",
        details={"Architecture": "frozen MiniLM (384-d) and EfficientNet-Lite0 pooled features "
                                 f"({info['image_size']} px input, 1280-d) → two MLP heads → 256-d unit vectors; symmetric InfoNCE with a learned "
                                 f"temperature, feature dropout {options['feature_dropout']}, Adam {options['lr']}."},
        options=options, training=info["training"],
        metrics="Run `python bench/match.py` (protocol in that file); the numbers measured for this checkpoint are added here when it is shipped.",
    )
