"""Style studio without Gradio: strength, colours, product-only, recolouring, odd inputs, bad requests."""
from __future__ import annotations

import colorsys

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import ROOT
from core.images import ImageError
from core.textures import KINDS, texture
from style import StyleError
from style.recolor import parse_colour, recolor, recolor_palette
from style.statistics import adain, mean_std
from style.transfer import product_weight, stylize

shipped = pytest.mark.skipif(not (ROOT / "checkpoints" / "style-decoder" / "config.json").is_file(), reason="no shipped style decoder")


def garment(width=160, height=160) -> Image.Image:
    """A dark-red shirt shape with folds (shading) on a pale grey floor, like a photographed product."""
    y, x = np.mgrid[0:height, 0:width]
    scene = np.stack([np.full((height, width), 205.0), np.full((height, width), 205.0), np.full((height, width), 200.0)], -1)
    body = (abs(x - width / 2) < width * 0.22) & (y > height * 0.2) & (y < height * 0.85)
    sleeves = (abs(y - height * 0.32) < height * 0.09) & (abs(x - width / 2) < width * 0.38)
    shirt = body | sleeves
    shade = 0.75 + 0.25 * np.sin(x / 6.0)
    scene[shirt] = np.stack([150 * shade, 25 * shade, 35 * shade], -1)[shirt]
    return Image.fromarray(scene.clip(0, 255).astype(np.uint8))


def stripes() -> Image.Image:
    return Image.fromarray((texture("stripes", 96, torch.Generator().manual_seed(3)).permute(1, 2, 0).numpy() * 255).astype(np.uint8))


def dominant_hue(pixels: np.ndarray) -> float:
    """Circular mean hue in degrees of saturated pixels (N, 3) uint8, weighted by saturation."""
    hsv = np.array([colorsys.rgb_to_hsv(*(p / 255)) for p in pixels])
    angles, weights = hsv[:, 0] * 2 * np.pi, hsv[:, 1]
    return float(np.degrees(np.arctan2((np.sin(angles) * weights).sum(), (np.cos(angles) * weights).sum())) % 360)


def hue_gap(a: float, b: float) -> float:
    return abs((a - b + 180) % 360 - 180)


def test_adain_gives_the_style_statistics_and_keeps_the_layout():
    torch.manual_seed(0)
    content, style = torch.randn(2, 8, 12, 12), torch.randn(2, 8, 5, 7) * 3 + 1
    out = adain(content, *mean_std(style))
    for a, b in zip(mean_std(out), mean_std(style)):
        assert torch.allclose(a, b, atol=1e-3)
    assert torch.corrcoef(torch.stack([out[0, 0].flatten(), content[0, 0].flatten()]))[0, 1] > 0.99


@pytest.mark.parametrize("kind", KINDS)
def test_textures_are_reproducible_images(kind):
    a, b = (texture(kind, 64, torch.Generator().manual_seed(5)) for _ in range(2))
    assert a.shape == (3, 64, 64) and torch.equal(a, b) and 0 <= a.min() and a.max() <= 1 and a.std() > 0.02


@shipped
def test_strength_zero_returns_the_content_and_strength_grows_the_change():
    content = garment()
    assert np.array_equal(np.asarray(stylize(content, stripes(), strength=0.0)), np.asarray(content))
    changes = [np.abs(np.asarray(stylize(content, stripes(), strength=s), np.float32) - np.asarray(content, np.float32)).mean()
               for s in (0.05, 0.5, 1.0)]
    assert changes[0] < 0.2 * changes[2] and changes[0] < changes[1] < changes[2]


@shipped
def test_preserve_color_keeps_the_content_mean_colour():
    content = garment()
    plain = np.asarray(stylize(content, stripes()), np.float32).reshape(-1, 3).mean(0)
    kept = np.asarray(stylize(content, stripes(), preserve_color=True), np.float32).reshape(-1, 3).mean(0)
    original = np.asarray(content, np.float32).reshape(-1, 3).mean(0)
    assert np.abs(kept - original).max() < 3 and np.abs(plain - original).max() > np.abs(kept - original).max()


@shipped
def test_product_only_leaves_background_pixels_unchanged():
    content = garment()
    out = np.asarray(stylize(content, stripes(), product_only=True))
    weight = product_weight(content)
    background = weight == 0
    assert background.mean() > 0.3, "the segmenter should find the floor"
    assert np.array_equal(out[background], np.asarray(content)[background])
    assert (np.abs(out.astype(int) - np.asarray(content, int)).max(-1) > 8)[weight == 1].mean() > 0.5


@shipped
def test_two_styles_mix_and_odd_style_images_work():
    content = garment(120, 90)
    a, b = stripes(), Image.new("RGB", (40, 40), (20, 160, 60))
    only_a, only_b, half = (np.asarray(stylize(content, a, style2=b, mix=m), np.float32) for m in (0.0, 1.0, 0.5))
    assert np.abs(only_a - np.asarray(stylize(content, a), np.float32)).max() <= 1
    assert np.abs(half - only_a).mean() > 1 and np.abs(half - only_b).mean() > 1
    for style in (Image.new("L", (7, 5), 90), stripes().resize((3000, 1800)), Image.new("RGBA", (50, 50), (0, 0, 255, 128))):
        assert stylize(content, style).size == (120, 90)
    assert stylize(Image.new("L", (80, 60), 128), stripes()).size == (80, 60)  # grey content


@shipped
def test_quality_mode_lowers_the_style_distance_with_steps():
    from style.statistics import encode, style_distance, style_statistics
    from style.transfer import model_input

    content, style = garment(64, 64), stripes().resize((64, 64))
    target = style_statistics(encode(model_input(style, "cpu")))
    distance = lambda image: style_distance(encode(model_input(image, "cpu")), target).item()
    few, many = (stylize(content, style, mode="quality", steps=s, size=64) for s in (2, 40))
    assert distance(many) < distance(few) < distance(content)


@pytest.mark.parametrize("colour, rgb", [("Navy Blue", (31, 42, 86)), ("red", (255, 0, 0)), ("#1f3a93", (31, 58, 147)),
                                         ("rgb(200, 30, 30)", (200, 30, 30)), ("rgba(12.4, 0, 255, 1)", (12, 0, 255)),
                                         ("light gray", (211, 211, 211)), ("  Off   White ", (244, 241, 232))])
def test_colour_names_hex_and_rgb_are_understood(colour, rgb):
    assert parse_colour(colour) == rgb


@pytest.mark.parametrize("colour", ["blurple", "", "   ", "#12345", "rgb(300, 0, 0)", None, 7])
def test_unknown_colours_are_refused_listing_the_accepted_forms(colour):
    with pytest.raises(StyleError, match="hex code"):
        parse_colour(colour)


@shipped
@pytest.mark.parametrize("colour", ["royalblue", "#2e8b57", "mustard", "purple"])
def test_recolour_moves_the_product_hue_and_keeps_the_background(colour):
    content = garment()
    out = np.asarray(recolor(content, colour))
    weight = product_weight(content)
    inside = out[weight == 1]
    target = colorsys.rgb_to_hsv(*(np.array(parse_colour(colour)) / 255))[0] * 360
    assert hue_gap(dominant_hue(inside[::7]), target) < 10
    assert np.array_equal(out[weight == 0], np.asarray(content)[weight == 0])
    lightness = inside.mean(-1)
    assert np.corrcoef(lightness, np.asarray(content)[weight == 1].mean(-1))[0, 1] > 0.8  # the folds (shading) survive


@shipped
def test_palette_gives_one_variant_per_colour_and_checks_names_first():
    variants = recolor_palette(garment(80, 80), "red, navy blue, olive, mustard")
    assert [name for _, name in variants] == ["red", "navy blue", "olive", "mustard"]
    with pytest.raises(StyleError, match="unknown colour 'blurple'"):
        recolor_palette(garment(80, 80), "red, blurple")
    with pytest.raises(StyleError, match="1 to 8"):
        recolor_palette(garment(80, 80), ",".join(["red"] * 9))


@pytest.mark.parametrize("call, message", [
    (dict(strength=1.5), "strength must be a number from 0 to 1"), (dict(strength=float("nan")), "strength"),
    (dict(strength="a lot"), "strength"), (dict(mix=-0.1), "mix"), (dict(mode="best"), "mode must be one of fast, quality"),
    (dict(size=5000), "size"), (dict(mode="quality", steps=10_000), "steps"),
])
def test_bad_requests_are_refused_before_any_work(call, message):
    with pytest.raises(StyleError, match=message):
        stylize(garment(32, 32), stripes(), **call)


@pytest.mark.parametrize("size, message", [((1, 1), "1×1 px; both sides"), ((31, 200), "31×200 px; both"),
                                           ((3, 3000), "3×3000 px; both sides"), ((40, 4000), r"40×4000 px \(5×512 once fitted into 512 px: crop")])
def test_pictures_too_small_to_restyle_are_refused(size, message):
    with pytest.raises(StyleError, match=message):
        stylize(Image.new("RGB", size, (200, 30, 30)), stripes())


@shipped
def test_the_smallest_pictures_allowed_restyle_in_both_modes():
    for mode in ("fast", "quality"):
        assert stylize(garment(32, 200), stripes(), mode=mode, steps=2).size == (32, 200)


def test_not_an_image_is_refused(tmp_path):
    (tmp_path / "notes.png").write_text("not an image")
    with pytest.raises(ImageError, match="not a readable image"):
        stylize(tmp_path / "notes.png", stripes())
    with pytest.raises(ImageError, match="not a readable image"):
        recolor(tmp_path / "notes.png", "red")
