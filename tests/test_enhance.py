"""Enhancement without Gradio: tiling, Real-ESRGAN weights, tone, masks, size contracts, bad input."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import ROOT, SHARED_DATA
from core.images import ImageError, to_tensor
from enhance import EnhanceError
from enhance.models import Denoiser, SuperResolution
from enhance.background import remove_background
from enhance.chain import Settings, enhance_photo
from enhance.denoise import denoise
from enhance.tiling import tiled
from enhance.upscale import upscale

SHIPPED = {name: ROOT / "checkpoints" / folder for name, folder in
           {"sr": "sr-photos", "denoise": "denoise-photos", "inpaint": "inpaint-photos", "segment": "segment-products",
            "tone": "tone-photos"}.items()}
shipped = pytest.mark.skipif(not all((f / "config.json").is_file() for f in SHIPPED.values()), reason="enhancement checkpoints not shipped yet")


def photo(width=120, height=90, seed=0) -> Image.Image:
    """A smooth coloured scene with an object and some texture, like a small product photo."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([120 + 60 * np.sin(x / 17), 140 + 50 * np.cos(y / 13), 160 + 40 * np.sin((x + y) / 23)], -1)
    base[height // 4:3 * height // 4, width // 3:2 * width // 3] = (200, 40, 40)
    return Image.fromarray(np.clip(base + rng.normal(0, 4, base.shape), 0, 255).astype(np.uint8))


@pytest.mark.parametrize("model, scale, multiple", [(SuperResolution().eval(), 4, 1), (Denoiser().eval(), 1, 1)])
def test_tiling_matches_untiled_processing(model, scale, multiple):
    torch.manual_seed(0)
    image = np.asarray(photo(130, 100))
    fn = (lambda x: model(x, 4)) if scale == 4 else (lambda x: model(x, torch.tensor([0.1])))
    whole = tiled(fn, image, scale, tile=1024, overlap=0, multiple=multiple)
    calls = []
    pieces = tiled(fn, image, scale, tile=48, overlap=24, multiple=multiple, progress=calls.append)
    assert whole.shape == pieces.shape == (100 * scale, 130 * scale, 3)
    assert np.abs(whole.astype(int) - pieces.astype(int)).max() <= 1
    assert len(calls) == 9 and calls[-1] == 1.0


def test_realesrgan_weights_load_from_the_ncnn_files_and_upscale():
    from enhance.realesrgan import load_realesrgan

    model = load_realesrgan()
    small = to_tensor(photo(24, 20))[None]
    with torch.inference_mode():
        big = model(small).clamp(0, 1)
    assert big.shape == (1, 3, 80, 96)
    # a real super-resolution network reproduces the downscaled content: compare with bicubic
    bicubic = torch.nn.functional.interpolate(small, scale_factor=4, mode="bicubic", align_corners=False).clamp(0, 1)
    assert (big - bicubic).abs().mean() < 0.05


@pytest.fixture(scope="module")
def everyday_photos() -> list[Image.Image]:
    """Twelve held-out everyday clothing photos (the tone estimator never saw them), 192 px crops."""
    from core.data import ImageTextDataset

    folder = SHARED_DATA / "clothing-photos" / "validation"
    if not folder.is_dir():
        pytest.skip(f"{folder} not found (set ATELIER_DATA)")
    data = ImageTextDataset(folder, 192, "all", fit="crop", limit=12, progress=False)
    return [Image.fromarray(a.permute(1, 2, 0).numpy()) for a in data.images]


@shipped
def test_auto_tone_undoes_a_dim_blue_cast_and_leaves_good_photos_nearly_alone(everyday_photos):
    from core.metrics import colour_difference
    from enhance.degrade import shift_photo_tone
    from enhance.tone import auto_tone

    dim_blue = torch.tensor([[-0.8, -0.25, 0.0]])  # a stop darker, cooler: a phone photo by a window
    before, after, untouched, brighter, warmer = [], [], [], [], []
    for photo_ in everyday_photos:
        shifted = shift_photo_tone(photo_, dim_blue)
        toned, settings = auto_tone(shifted)
        brighter.append(settings["exposure"])                                              # stops; 0.8 undoes the shift
        warmer.append(np.log2(settings["white_balance"][0] / settings["white_balance"][2]))  # 0.5 undoes it
        before.append(colour_difference(shifted, photo_))
        after.append(colour_difference(toned, photo_))
        untouched.append(colour_difference(auto_tone(photo_)[0], photo_))
    assert np.mean(brighter) > 0.4 and np.mean(warmer) > 0.2
    _, log = enhance_photo(shifted, ["tone"], Settings())   # the Enhance tab says what it did, colour included
    r, g, b = settings["white_balance"]
    assert log == [f"tone: exposure {settings['exposure']:.2f}, contrast 1.00, warmth 0.00, saturation {settings['saturation']:.2f}, "
                   f"white balance R×{r:.2f} G×{g:.2f} B×{b:.2f}"]
    assert np.mean(after) < np.mean(before) / 2
    assert np.mean(untouched) < np.mean(before) / 2


@shipped
def test_auto_tone_honours_overrides_and_refuses_bad_values():
    from enhance.tone import auto_tone

    dark = (np.asarray(photo(), np.float32) * np.array([0.35, 0.4, 0.6])).astype(np.uint8)
    same, used = auto_tone(dark, exposure=0.0, contrast=1.0, warmth=0.0, saturation=1.0)
    assert used["exposure"] == 0.0 and same.size == (120, 90)
    with pytest.raises(EnhanceError, match="exposure"):
        auto_tone(dark, exposure=float("nan"))


def test_mask_is_resized_and_empty_or_full_masks_are_refused():
    from enhance.inpaint import read_mask

    mask = np.zeros((45, 60), np.uint8)
    mask[10:20, 10:30] = 255
    holes = read_mask(Image.fromarray(mask), (120, 90))
    assert holes.shape == (90, 120) and holes[30, 40] and not holes[0, 0]
    with pytest.raises(EnhanceError, match="empty"):
        read_mask(Image.new("L", (120, 90), 0), (120, 90))
    with pytest.raises(EnhanceError, match="whole photo"):
        read_mask(Image.new("L", (120, 90), 255), (120, 90))


@pytest.mark.parametrize("colour", [(255, 255, 255), (255, 0, 255), (0, 0, 0)])
def test_a_brush_layer_mask_repairs_what_is_painted_in_any_colour(colour, tmp_path):
    from enhance.inpaint import read_mask

    layer = Image.new("RGBA", (120, 90), (0, 0, 0, 0))
    layer.paste(Image.new("RGBA", (20, 10), (*colour, 255)), (30, 40))
    layer.save(tmp_path / "strokes.png")
    holes = read_mask(tmp_path / "strokes.png", (120, 90))
    assert holes.sum() == 200 and holes[45, 40]
    with pytest.raises(EnhanceError, match="empty"):
        read_mask(Image.new("RGBA", (120, 90), (0, 0, 0, 0)), (120, 90))
    opaque = Image.new("RGBA", (120, 90), (0, 0, 0, 255))
    opaque.paste(Image.new("RGBA", (20, 10), (255, 255, 255, 255)), (30, 40))
    assert read_mask(opaque, (120, 90)).sum() == 200  # fully opaque: white = repair, as in a plain mask


def test_noise_estimate_tracks_the_added_noise():
    from enhance.denoise import estimate_noise

    clean = np.asarray(photo(256, 256), np.float64)
    rng = np.random.default_rng(1)
    estimates = [estimate_noise(Image.fromarray(np.clip(clean + rng.normal(0, s, clean.shape), 0, 255).astype(np.uint8))) for s in (5, 15, 25)]
    assert estimates[0] < estimates[1] < estimates[2]
    assert abs(estimates[2] - 25) < 6


def test_opencv_inpaint_fills_only_the_hole():
    from enhance.inpaint import inpaint

    image = photo()
    mask = np.zeros((90, 120), np.uint8)
    mask[40:50, 10:20] = 1
    out = np.asarray(inpaint(image, mask, method="opencv"))
    assert out.shape == np.asarray(image).shape
    assert np.array_equal(out[mask == 0], np.asarray(image)[mask == 0])


@pytest.mark.parametrize("call, message", [
    (lambda: upscale(photo(), scale=3), "scale"),
    (lambda: upscale(photo(), mode="best"), "mode"),
    (lambda: upscale(Image.new("RGB", (4000, 3500)), scale=4), "megapixels"),
    (lambda: denoise(photo(), strength=80), "strength"),
    (lambda: remove_background(photo(), "green"), "background"),
    (lambda: enhance_photo(photo(), [], Settings()), "at least one"),
])
def test_bad_requests_are_refused_before_any_work(call, message):
    with pytest.raises(EnhanceError, match=message):
        call()


def test_not_an_image_is_refused(tmp_path):
    from enhance.tone import auto_tone

    (tmp_path / "x.png").write_bytes(b"")
    with pytest.raises(ImageError, match="empty"):
        auto_tone(tmp_path / "x.png")



@shipped
@pytest.mark.parametrize("mode", ["fast", "quality"])
@pytest.mark.parametrize("scale", [2, 4])
def test_upscale_size_contract(scale, mode):
    from enhance.upscale import upscale

    out = upscale(photo(37, 29), scale, mode)
    assert out.size == (37 * scale, 29 * scale) and out.mode == "RGB"


@shipped
@pytest.mark.parametrize("operation", ["upscale fast", "upscale quality", "denoise", "inpaint"])
def test_bf16_gives_the_fp32_picture(monkeypatch, operation):
    """Where the CPU (or GPU) runs bf16 natively these models run under autocast: the same picture, faster."""
    import enhance.denoise
    import enhance.inpaint
    import enhance.upscale

    hole = np.zeros((32, 40), np.uint8)
    hole[8:20, 10:24] = 255
    module, run = {"upscale fast": (enhance.upscale, lambda image: upscale(image, 4, "fast")),
                   "upscale quality": (enhance.upscale, lambda image: upscale(image, 4, "quality")),
                   "denoise": (enhance.denoise, lambda image: denoise(image, 20)[0]),
                   "inpaint": (enhance.inpaint, lambda image: enhance.inpaint.inpaint(image, hole))}[operation]
    image = photo(40, 32, seed=5)
    outputs = {}
    for dtype in (torch.float32, torch.bfloat16):
        monkeypatch.setattr(module, "inference_autocast", lambda device: torch.autocast("cpu", dtype=torch.bfloat16, enabled=dtype == torch.bfloat16))
        outputs[dtype] = np.asarray(run(image), float)
    difference = np.abs(outputs[torch.bfloat16] - outputs[torch.float32])
    assert difference.mean() < 1.0 and np.percentile(difference, 99) < 6


@shipped
def test_fast_upscale_beats_bicubic_on_a_downscaled_photo():
    from enhance.upscale import upscale

    clean = photo(128, 128, seed=3)
    small = clean.resize((32, 32), Image.Resampling.BICUBIC)
    psnr = lambda a, b: 10 * np.log10(255 ** 2 / np.mean((np.asarray(a, float) - np.asarray(b, float)) ** 2))
    assert psnr(upscale(small, 4, "fast"), clean) > psnr(small.resize((128, 128), Image.Resampling.BICUBIC), clean)


@shipped
def test_denoise_removes_noise_automatically():
    from enhance.denoise import denoise

    clean = np.asarray(photo(160, 120, seed=4), np.float64)
    noisy = np.clip(clean + np.random.default_rng(0).normal(0, 25, clean.shape), 0, 255).astype(np.uint8)
    out, sigma = denoise(Image.fromarray(noisy))
    assert 15 < sigma < 35
    assert np.mean((np.asarray(out, float) - clean) ** 2) < np.mean((noisy - clean) ** 2) / 2


@shipped
def test_learned_inpaint_keeps_everything_outside_the_mask():
    from enhance.inpaint import inpaint

    image = photo(200, 150)
    mask = np.zeros((150, 200), np.uint8)
    mask[60:90, 20:60] = 1
    out = np.asarray(inpaint(image, mask))
    assert out.shape == (150, 200, 3)
    assert np.array_equal(out[mask == 0], np.asarray(image)[mask == 0])


@shipped
def test_background_becomes_white_or_transparent():
    from enhance.background import remove_background

    scene = np.full((160, 160, 3), (40, 110, 60), np.uint8)   # green backdrop
    scene[40:130, 50:110] = (200, 30, 30)                     # a red product
    white = np.asarray(remove_background(scene, "white"))
    assert white[5:20, 5:20].min() > 230 and white[80, 80, 0] > 150
    cut = remove_background(scene, "transparent")
    alpha = np.asarray(cut)[..., 3]
    assert cut.mode == "RGBA" and alpha[80, 80] > 127 and alpha[5, 5] < 50  # product kept (alpha > ½), backdrop gone
    odd = np.asarray(remove_background(scene[:101, :157], "white"))   # not a multiple of the U-Net's 16: padded, not resized
    assert odd.shape == (101, 157, 3) and odd[5:20, 5:20].min() > 230 and odd[80, 80, 0] > 150


def test_flip_ensemble_makes_a_network_mirror_consistent():
    from enhance.ensemble import flip_ensemble

    ramp = torch.linspace(0.5, 1.5, 8)
    lopsided = lambda x, y: x * ramp + y * ramp.view(-1, 1)   # favours the right and the bottom, as a network may
    x, y = torch.rand(2, 1, 3, 8, 8)
    assert not torch.allclose(lopsided(x.flip(3), y.flip(3)), lopsided(x, y).flip(3))
    for dims in ((3,), (2,)):
        mirrored = flip_ensemble(lopsided, x.flip(dims), y.flip(dims))
        assert torch.allclose(mirrored, flip_ensemble(lopsided, x, y).flip(dims), atol=1e-6)


def test_segmenter_composites_keep_their_mask_and_soften_photo_backgrounds():
    from enhance import degrade

    g = lambda: torch.Generator().manual_seed(0)
    products = torch.ones(6, 3, 64, 64) * torch.tensor([0.8, 0.1, 0.1]).view(1, 3, 1, 1)
    masks = torch.zeros(6, 1, 64, 64)
    masks[:, :, 16:48, 16:48] = 1
    photos = torch.from_numpy(np.random.default_rng(0).integers(0, 256, (3, 3, 128, 128), dtype=np.uint8))
    image, mask = degrade.composite(products, masks, photos, g())
    assert image.shape == (6, 3, 64, 64) and 0 <= image.min() and image.max() <= 1
    assert mask.shape == (6, 1, 64, 64) and 0.1 < mask.mean() < 0.6     # the product, scaled and shifted, stays in view
    detail = lambda b: (b[..., 1:] - b[..., :-1]).abs().mean()   # noise photos: all fine detail
    sharp, soft = degrade.backgrounds(12, 64, photos, g()), degrade.backgrounds(12, 64, photos, g(), soften=1.0)
    assert detail(soft) < 0.5 * detail(sharp)


def garment_on_floor(size: int = 96) -> tuple[np.ndarray, np.ndarray]:
    """A striped blue-and-yellow garment on a grainy brown floor, with its true mask: a printed
    product the catalog-trained segmenter would tear apart."""
    rng = np.random.default_rng(0)
    floor = np.array([120, 80, 50]) + rng.normal(0, 12, (size, size, 3))
    mask = np.zeros((size, size), bool)
    mask[20:80, 24:60] = True                       # body (off-centre: a flip shows)
    mask[20:40, 12:84] = True                       # sleeves
    stripes = np.where((np.arange(size) // 6 % 2)[:, None, None] == 0, [30, 60, 200], [230, 210, 40])
    photo = np.where(mask[..., None], stripes + rng.normal(0, 6, (size, size, 3)), floor)
    return np.clip(photo, 0, 255).astype(np.uint8), mask


def test_photo_mask_finds_a_printed_garment_on_a_floor():
    from enhance.degrade import photo_mask

    photo, truth = garment_on_floor()
    mask = photo_mask(photo)
    assert (mask & truth).sum() / (mask | truth).sum() > 0.9
    assert np.array_equal(mask, photo_mask(photo))  # the same photo always gives the same mask (exact resume)


def test_photo_crops_keep_image_and_mask_aligned():
    from enhance import degrade

    photo, truth = garment_on_floor(128)
    photos, masks = degrade.usable_photos(torch.from_numpy(photo).permute(2, 0, 1)[None].repeat(3, 1, 1, 1), mask_size=96)
    assert len(photos) == 3 and masks.shape == (3, 1, 128, 128)
    images, targets = degrade.photo_crops(photos, masks, 8, 64, torch.Generator().manual_seed(0))
    assert images.shape == (8, 3, 64, 64) and targets.shape == (8, 1, 64, 64)
    brown = (images[:, 0] - images[:, 2] > 0.15) & (images[:, 1] - images[:, 2] > 0.05) & (images[:, 0] < 0.65)
    garment = targets[:, 0] > 0.5
    assert (brown & garment).float().mean() < 0.02 and (brown | garment).float().mean() > 0.9  # floor where the mask says floor
    empty, _ = degrade.usable_photos(torch.full((2, 3, 64, 64), 128, dtype=torch.uint8), mask_size=64)
    assert len(empty) == 0  # a blank picture holds no product
