"""The generation capability without Gradio: request checks, determinism, PNG metadata, variety."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import SHIPPED_GAN
from gan.generate import UNFAMILIAR, GenerationError, TextToProduct, check_request, generate_files, prompt_note, sample_noise


@pytest.fixture(scope="module")
def pipe():
    return TextToProduct.from_pretrained(SHIPPED_GAN, device="cpu")


@pytest.mark.parametrize("count", [0, 17, 2.5, "3", True, None])
def test_count_must_be_whole_and_in_range(count):
    with pytest.raises(GenerationError, match="count"):
        check_request("red shirt", count, 1.0)


@pytest.mark.parametrize("variety", [0.0, 2.5, float("nan"), float("inf"), "1"])
def test_variety_must_be_in_range(variety):
    with pytest.raises(GenerationError, match="variety"):
        check_request("red shirt", 2, variety)


def test_variety_bounds_the_noise():
    z = sample_noise(256, 128, torch.Generator().manual_seed(0), truncation=0.5)
    assert z.abs().max() <= 0.5 and z.std() > 0.2


def test_shipped_model_same_seed_same_pixels(pipe):
    a = pipe("black leather formal shoes for men", count=4, seed=3)
    b = pipe("black leather formal shoes for men", count=4, seed=3)
    c = pipe("black leather formal shoes for men", count=4, seed=4)
    assert all(np.array_equal(np.asarray(x), np.asarray(y)) for x, y in zip(a, b))
    assert not np.array_equal(np.asarray(a[0]), np.asarray(c[0]))
    assert len({np.asarray(x).tobytes() for x in a}) == 4  # four different products


def test_prompt_changes_the_product(pipe):
    red = np.asarray(pipe("Women Red Handbag", count=1, seed=0)[0], float)
    blue = np.asarray(pipe("men blue denim jeans", count=1, seed=0)[0], float)
    assert np.abs(red - blue).mean() > 5


def test_empty_prompt_is_refused(pipe):
    with pytest.raises(GenerationError, match="description"):
        pipe("  \n ", count=1)


@pytest.mark.parametrize("prompt", ["!!!!", "12345", "🔥🔥🔥", "-- ..."])
def test_descriptions_without_a_word_are_refused(pipe, prompt):
    with pytest.raises(GenerationError, match="in words"):
        pipe(prompt, count=1)


def test_unfamiliar_descriptions_get_a_note_and_still_their_pictures(pipe, tmp_path):
    assert pipe.prompt_distance("a spaceship on mars") > UNFAMILIAR > pipe.prompt_distance("men's navy blue casual shirt")
    note = prompt_note("a spaceship on mars", SHIPPED_GAN)
    assert "unlike the descriptions gan-fashion64 learned from" in note and "Tshirts" in note
    assert prompt_note("Women Red Handbag", SHIPPED_GAN) is None
    assert len(pipe("a spaceship on mars", count=2)) == 2
    for item in SHIPPED_GAN.iterdir():  # the same model without the Sliders' latent statistics: no basis for a note
        if item.name != "directions.safetensors":
            (tmp_path / item.name).symlink_to(item)
    bare = TextToProduct.from_pretrained(tmp_path, device="cpu")
    assert bare.prompt_distance("a spaceship on mars") is None and len(bare("a spaceship on mars", count=1)) == 1


def test_files_carry_prompt_seed_and_model(tmp_path):
    files = generate_files("white sports shoes", 2, 5, 0.8, model=SHIPPED_GAN, out_dir=tmp_path)
    assert [p for p, _ in files] == [str(tmp_path / f"white-sports-shoes_seed5_0{i}.png") for i in range(2)]
    info = Image.open(files[1][0]).info
    assert info["prompt"] == "white sports shoes" and info["seed"] == "5" and info["index"] == "1"
    assert info["model"] == SHIPPED_GAN.name and info["variety"] == "0.8"


@pytest.mark.parametrize("mode", ["fast", "quality"])
def test_upscaled_files_are_the_same_products_four_times_larger(tmp_path, mode):
    small = generate_files("Women Red Handbag", 2, 3, model=SHIPPED_GAN, out_dir=tmp_path / "small")
    large = generate_files("Women Red Handbag", 2, 3, model=SHIPPED_GAN, out_dir=tmp_path / "large", upscale=mode)
    drawn = [np.asarray(Image.open(path), float) for path, _ in small]
    between_seeds = np.abs(drawn[0] - drawn[1]).mean()
    for pixels, (path, _) in zip(drawn, large):
        upscaled = Image.open(path)
        assert upscaled.size == (256, 256) and upscaled.info["upscaled"] == f"x4 {mode}" and upscaled.info["seed"] == "3"
        shrunk = np.asarray(upscaled.convert("RGB").resize((64, 64), Image.Resampling.BOX), float)
        assert np.abs(shrunk - pixels).mean() < between_seeds / 1.5   # the same product, not a cousin of it


def test_unknown_upscale_mode_is_refused(pipe):
    with pytest.raises(GenerationError, match="upscale must be one of none, fast, quality"):
        pipe("white sports shoes", 1, upscale="x8")


def test_one_per_prompt_is_the_same_as_asking_one_by_one(pipe):
    prompts = ["Women Red Handbag", "", "men's navy blue casual shirt"]
    batched = pipe.one_per_prompt(prompts, batch=2)
    one_by_one = [np.asarray(pipe(p or "product", 1, seed=i)[0]) for i, p in enumerate(prompts)]
    assert batched.shape == (3, 3, 64, 64)
    for i, image in enumerate(one_by_one):
        assert np.abs(batched[i].permute(1, 2, 0).numpy().astype(int) - image).max() <= 1
    later = pipe.one_per_prompt(prompts[:1], first_seed=7)[0].permute(1, 2, 0).numpy().astype(int)
    assert np.abs(later - np.asarray(pipe(prompts[0], 1, seed=7)[0])).max() <= 1
    assert np.abs(later - np.asarray(one_by_one[0])).max() > 1
