"""The MiniLM text encoder: shape, normalisation, determinism, long and non-English text."""
from __future__ import annotations

import torch

from core.text import EMBEDDING_DIM, TextEncoder, encode_text


def test_shape_and_unit_norm():
    vectors = encode_text(["Women Red Handbag", "men's navy blue casual shirt", ""])
    assert vectors.shape == (3, EMBEDDING_DIM) and vectors.dtype == torch.float32
    assert torch.allclose(vectors.norm(dim=1), torch.ones(3), atol=1e-5)


def test_deterministic_across_calls_batches_and_instances():
    a = encode_text(["blue denim jeans"])
    b = encode_text(["white sports shoes", "blue denim jeans", "a much longer caption that forces padding " * 5])[1:2]
    fresh = TextEncoder().encode(["blue denim jeans"])
    assert torch.equal(a, b)
    assert torch.allclose(a, fresh, atol=1e-5)


def test_meaning_is_captured():
    query, near, far = encode_text(["red handbag for women", "Women Red Handbag", "Men Black Formal Shoes"])
    assert query @ near > query @ far + 0.2


def test_long_and_non_english_text_work():
    long_text = "navy blue cotton shirt with pockets " * 400
    vectors = encode_text([long_text, "红色手提包", "chemise bleu marine pour homme"])
    assert vectors.shape == (3, EMBEDDING_DIM)
    assert torch.isfinite(vectors).all() and (vectors.norm(dim=1) > 0.99).all()
