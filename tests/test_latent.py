"""Latent directions, edits and morphs, without Gradio: unit maths on synthetic latents, then
behaviour of the shipped VAE and GAN (a colour slider must make the product more that colour)."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import ROOT, SHARED_DATA, SHIPPED_GAN, product_photo
from core.images import ImageError, frame_pixels
from latent.directions import boundary, compute_directions, orthogonal_to, principal_directions
from latent.space import LatentError
from latent.studio import Studio, save_gif

SHIPPED_VAE = ROOT / "checkpoints" / "vae-fashion64"


def test_principal_directions_are_orthonormal_and_ordered_by_variance():
    g = torch.Generator().manual_seed(0)
    scales = torch.tensor([5.0, 3.0, 2.0, 1.0, 0.5, 0.1])
    rotation, _ = torch.linalg.qr(torch.randn(6, 6, generator=g))
    latents = (torch.randn(4000, 6, generator=g) * scales) @ rotation.T
    pcs = principal_directions(latents, latents, 4)
    assert torch.allclose(pcs @ pcs.T, torch.eye(4), atol=1e-5)
    variance = ((latents - latents.mean(0)) @ pcs.T).var(0)
    assert (variance[:-1] > variance[1:]).all()
    assert abs(float(pcs[0] @ rotation[:, 0])) > 0.99  # the largest axis is found


def test_principal_directions_through_features_are_orthonormal():
    g = torch.Generator().manual_seed(1)
    latents = torch.randn(2000, 8, generator=g)
    features = torch.tanh(latents @ torch.randn(8, 32, generator=g))  # a nonlinear "first layer"
    pcs = principal_directions(features, latents, 5)
    assert torch.allclose(pcs @ pcs.T, torch.eye(5), atol=1e-5)


def test_boundary_finds_the_attribute_axis_and_orthogonalisation_removes_another():
    g = torch.Generator().manual_seed(2)
    latents = torch.randn(3000, 16, generator=g)
    positive = latents[:, 3] + 0.3 * torch.randn(3000, generator=g) > 0.8   # imbalanced on purpose
    direction = boundary(latents, positive)
    assert abs(direction.norm().item() - 1) < 1e-5
    assert direction[3] > 0.9
    others = torch.eye(16)[[3, 5]]
    cleaned = orthogonal_to(direction, others)
    assert abs(cleaned.norm().item() - 1) < 1e-5 and torch.allclose(others @ cleaned, torch.zeros(2), atol=1e-5)


class LatentsAsImages:
    """A stand-in latent space and dataset whose "images" already are latents, for compute_directions."""
    id, attribute_dims = "synthetic", slice(None)

    def __init__(self, latents: torch.Tensor, attributes: list[dict]):
        self.images, self.attributes = latents, attributes

    def __len__(self):
        return len(self.images)

    def encode_pixels(self, images):
        return images


def test_a_named_slider_at_one_takes_a_typical_product_of_its_value_to_a_typical_one_with_the_slider_value():
    g = torch.Generator().manual_seed(3)
    draw = torch.rand(6000, generator=g)
    red, green = draw < 0.1, draw > 0.9   # few red and green products, each far out along its own axis
    latents = torch.randn(6000, 6, generator=g)
    latents[red, 0] += 4.0
    latents[green, 1] += 4.0
    fake = LatentsAsImages(latents, [{"baseColour": "Red" if r else "Green" if gr else "Blue"} for r, gr in zip(red, green)])
    d = compute_directions(fake, fake, principal=3, min_count=50)
    typical = {"Red": latents[red].mean(0), "Green": latents[green].mean(0), "Blue": latents[~red & ~green].mean(0)}
    for own in ("Green", "Blue"):
        assert d.own_value(typical[own], "baseColour") == own
        assert torch.allclose(typical[own] + d.offset(typical[own], "baseColour=Red"), typical["Red"], atol=1e-4)
    i = d.index("baseColour=Red")   # a red product goes further out along the boundary, by the class gap
    assert torch.equal(d.offset(typical["Red"], "baseColour=Red"), d.unit[i] * d.vectors[i])
    assert d.unit[i] > 1.8 * d.sigma[i]
    assert abs(d.spread(d.vectors[i]) - d.sigma[i]) < 1e-3
    principal = [k for k, n in enumerate(d.names) if "=" not in n]
    assert torch.equal(d.unit[principal], d.sigma[principal])
    assert torch.equal(d.offset(typical["Green"], "PC 1"), d.sigma[principal[0]] * d.vectors[principal[0]])


def test_a_gender_slider_keeps_the_category_a_product_has():
    """A men's T-shirt on "Women" at +1 becomes a typical women's T-shirt, not the average women's
    product, which here is mostly a handbag."""
    g = torch.Generator().manual_seed(4)
    women = torch.rand(6000, generator=g) < 0.5
    bag = women & (torch.rand(6000, generator=g) < 0.7)
    latents = 0.3 * torch.randn(6000, 6, generator=g)
    latents[:, 0] += torch.where(bag, 2.0, -2.0)
    latents[:, 1] += torch.where(women, 1.0, -1.0)
    fake = LatentsAsImages(latents, [{"gender": "Women" if w else "Men", "articleType": "Handbags" if b else "Tshirts"}
                                     for w, b in zip(women, bag)])
    d = compute_directions(fake, fake, principal=3, min_count=50)
    mens_tshirt, womens_tshirt = latents[~women].mean(0), latents[women & ~bag].mean(0)
    assert d.own_value(mens_tshirt, "gender") == "Men"
    assert torch.allclose(mens_tshirt + d.offset(mens_tshirt, "gender=Women"), womens_tshirt, atol=1e-4)


def red_share(image: Image.Image) -> float:
    """Fraction of pixels that are clearly red (hue near 0°, saturated, not too dark)."""
    hsv = np.asarray(image.convert("HSV")).astype(int)
    hue, saturation, value = hsv[..., 0], hsv[..., 1], hsv[..., 2]
    return float((((hue < 12) | (hue > 243)) & (saturation > 90) & (value > 60)).mean())


@pytest.fixture(scope="module", params=["vae", "gan"])
def studio(request):
    return Studio.from_pretrained(SHIPPED_VAE if request.param == "vae" else SHIPPED_GAN, device="cpu")


def test_shipped_directions_are_unit_length_with_principal_orthogonal(studio):
    d = studio.directions
    assert torch.allclose(d.vectors.norm(dim=1), torch.ones(len(d.names)), atol=1e-3)
    principal = d.vectors[[i for i, n in enumerate(d.names) if "=" not in n]]
    assert len(principal) >= 8
    assert torch.allclose(principal @ principal.T, torch.eye(len(principal)), atol=1e-3)
    assert (d.sigma > 0).all() and (d.unit > 0).all()
    assert 8 <= len(studio.default_sliders()) <= 12
    assert "baseColour=Red" in d.names and "articleType=Tshirts" in d.names


def test_red_slider_makes_products_redder(studio):
    prompt = "Men White Tshirts"
    starts = [studio.start(seed, prompt) for seed in range(24)]
    before = [red_share(im) for im in studio.render_many(starts)]
    after = [red_share(im) for im in studio.render_many([s.with_sliders({"baseColour=Red": 2.5}) for s in starts])]
    raised = sum(a > b for a, b in zip(after, before))
    assert np.mean(after) > 2 * np.mean(before) and raised >= 16, (np.mean(before), np.mean(after), raised)


def test_same_edit_same_pixels_and_json_round_trip(studio):
    edit = studio.start(7, "Women Blue Handbags").with_sliders({"PC 1": 1.5, "baseColour=Red": -0.5})
    text = studio.to_json(edit)
    reopened = studio.from_json(text)
    assert reopened.sliders == edit.sliders and torch.allclose(reopened.base, edit.base, atol=1e-5)
    assert np.array_equal(np.asarray(studio.render(edit)), np.asarray(studio.render(reopened)))
    assert json.loads(text)["model"] == studio.name


def test_morph_goes_from_a_to_b(studio, tmp_path):
    a, b = studio.start(1, "Men Black Watches"), studio.start(2, "Women Pink Tops")
    frames = studio.morph(a, b, 8)
    assert len(frames) == 8
    assert np.array_equal(np.asarray(frames[0]), np.asarray(studio.render(a)))
    assert np.array_equal(np.asarray(frames[-1]), np.asarray(studio.render(b)))
    gif = save_gif(frames, tmp_path / "m.gif")
    with Image.open(gif) as im:
        assert im.n_frames == 14  # A→B→A without repeating the ends


@pytest.mark.parametrize("sliders, message", [
    ({"PC 1": float("nan")}, "finite"), ({"PC 1": 3.5}, "between"), ({"no such": 1.0}, "unknown slider"), ({"PC 1": "1"}, "finite"),
])
def test_bad_slider_values_are_refused(studio, sliders, message):
    with pytest.raises(LatentError, match=message):
        studio.render(studio.start(0, "red shirt").with_sliders(sliders))


def test_edit_from_another_model_is_refused_naming_it():
    vae, gan = Studio.from_pretrained(SHIPPED_VAE, device="cpu"), Studio.from_pretrained(SHIPPED_GAN, device="cpu")
    with pytest.raises(LatentError, match="gan-fashion64"):
        vae.from_json(gan.to_json(gan.start(0, "red shirt")))
    for bad in ["", "{not json", json.dumps({"format": "something else"}), "[1, 2]"]:
        with pytest.raises(LatentError):
            vae.from_json(bad)


def test_vae_encodes_any_photo_and_round_trips(tmp_path):
    studio = Studio.from_pretrained(SHIPPED_VAE, device="cpu")
    photo = Image.new("RGBA", (300, 120), (0, 0, 0, 0))
    photo.paste((200, 30, 30, 255), (100, 20, 200, 100))
    edit = studio.encode(photo)
    assert edit.base.shape == (studio.space.latent_dim,) and torch.isfinite(edit.base).all()
    image = studio.render(edit)
    assert image.size == (64, 64) and image.mode == "RGB"
    assert red_share(image) > 0.05  # the red block survives the round trip
    (tmp_path / "not.png").write_bytes(b"hello")
    with pytest.raises(ImageError):
        studio.encode(tmp_path / "not.png")


def floor_photo():
    """A pink top photographed on a wooden floor (held-out everyday photos)."""
    photo = SHARED_DATA / "clothing-photos" / "validation" / "dress" / "07cddef1-1fc8-47e4-a28a-613e60912590.jpg"
    if not photo.is_file():
        pytest.skip(f"needs the shared data ({photo})")
    return photo


def test_a_photo_taken_on_the_floor_encodes_as_a_product_on_white_and_a_catalog_shot_is_left_alone():
    photo = floor_photo()
    studio = Studio.from_pretrained(SHIPPED_VAE, device="cpu")
    cleaned = studio.render(studio.encode(photo))                             # a pink top on a wooden floor
    as_uploaded = studio.render(studio.encode(photo, clean_background=False))
    assert frame_pixels(cleaned, 4).mean() > 245 > 215 > frame_pixels(as_uploaded, 4).mean()
    catalog = product_photo("red")                                            # white all round: nothing to cut
    assert torch.equal(studio.encode(catalog).base, studio.encode(catalog, clean_background=False).base)


def test_fitting_an_uploaded_photo_decodes_closer_to_it_than_the_encoder_alone():
    photo = floor_photo()
    from core.images import load_image, prepare_square, to_tensor

    space = Studio.from_pretrained(SHIPPED_VAE, device="cpu").space
    target = to_tensor(prepare_square(load_image(photo), space.resolution), torch.uint8).float()
    error = lambda steps: (space.decode(space.encode(photo, fit_steps=steps))[0].float() - target).square().mean()
    assert error(25) < 0.8 * error(0)
    assert torch.equal(space.encode(photo), space.encode(photo))   # the same photo, the same latent


def test_gan_cannot_encode_and_needs_a_prompt():
    studio = Studio.from_pretrained(SHIPPED_GAN, device="cpu")
    with pytest.raises(LatentError, match="VAE"):
        studio.encode(Image.new("RGB", (10, 10)))
    with pytest.raises(LatentError, match="description"):
        studio.start(0, "  ")
    with pytest.raises(LatentError, match="in words"):
        studio.start(0, "?!")


def test_directions_of_another_model_version_are_refused(tmp_path):
    import shutil

    copy = tmp_path / "gan-copy"
    shutil.copytree(SHIPPED_GAN, copy)
    with open(copy / "config.json", "a") as f:
        f.write(" ")  # the same model, but not byte for byte: directions must be recomputed
    from core.checkpoints import CheckpointError

    with pytest.raises(CheckpointError, match="recompute"):
        Studio.from_pretrained(copy, device="cpu")


def test_towards_a_phrase_raises_its_match_score_and_round_trips(studio):
    from match.score import load_matcher

    starts = [studio.start(seed, "Men White Tshirts") for seed in range(8)]
    matcher = load_matcher()
    before = matcher.score(["red"], studio.pixels(starts))[0]
    after = matcher.score(["red"], studio.pixels([s.towards("red", 2.0) for s in starts]))[0]
    assert (after > before).sum() >= 7 and after.mean() > before.mean() + 0.05
    edit = starts[0].towards("red", 2.0)
    reopened = studio.from_json(studio.to_json(edit))
    assert reopened.phrase == "red" and reopened.phrase_amount == 2.0
    assert np.array_equal(np.asarray(studio.render(edit)), np.asarray(studio.render(reopened)))
    with pytest.raises(LatentError, match="phrase strength"):
        studio.render(starts[0].towards("red", float("nan")))
