"""Image loading/validation and the one dataset, on every folder layout."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from conftest import make_caption_folder, make_class_folder, make_flat_folder, make_metadata_folder, product_photo
from core.data import DatasetError, ImageTextDataset, is_validation, scan_folder
from core.images import ImageError, load_image, prepare_square


@pytest.mark.parametrize("mode", ["RGBA", "LA", "P", "CMYK", "L", "1", "I;16", "I", "F"])
def test_every_mode_becomes_rgb(mode, tmp_path):
    src = product_photo("red").convert("RGBA" if mode in ("RGBA", "LA") else "RGB")
    if mode == "I;16":
        image = Image.fromarray(np.asarray(src.convert("L"), np.uint16) * 257)
        assert image.mode == "I;16"
    else:
        image = src.convert(mode)
    out = load_image(image)
    assert out.mode == "RGB" and out.size == (60, 80)
    assert np.asarray(out)[0, 0].tolist() == [255, 255, 255]  # white stays white through every conversion


def test_transparent_pixels_become_white():
    rgba = Image.new("RGBA", (10, 10), (255, 0, 0, 0))
    assert np.asarray(load_image(rgba))[5, 5].tolist() == [255, 255, 255]


def test_exif_orientation_is_applied(tmp_path):
    wide = Image.new("RGB", (40, 20), "white")
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise on display
    path = tmp_path / "rotated.jpg"
    wide.save(path, exif=exif)
    assert load_image(path).size == (20, 40)


def test_bad_files_raise_clear_errors(tmp_path):
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    with pytest.raises(ImageError, match="empty"):
        load_image(empty)
    text = tmp_path / "notes.jpg"
    text.write_text("not an image")
    with pytest.raises(ImageError, match="not a readable image"):
        load_image(text)
    buffer = io.BytesIO()
    product_photo("blue", size=(200, 200)).save(buffer, format="JPEG")
    with pytest.raises(ImageError, match="damaged or truncated"):
        load_image(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    with pytest.raises(ImageError, match="megapixels"):
        load_image(Image.new("RGB", (5000, 5000)), max_pixels=10_000_000)


def test_pad_to_square_keeps_aspect_on_white():
    out = np.asarray(prepare_square(product_photo("black", size=(60, 80)), 64))
    assert out.shape == (64, 64, 3)
    assert out[32, 1].tolist() == [255, 255, 255]  # side padding is white
    assert out[32, 32].tolist() != [255, 255, 255]  # product in the middle


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_metadata_layout_reads_captions_and_attributes(tmp_path, fmt):
    root = make_metadata_folder(tmp_path / "c", fmt=fmt)
    scan = scan_folder(root)
    assert scan.layout.startswith("metadata")
    assert len(scan.records) == 16
    assert scan.records[0].caption == "red cotton shirt"
    assert scan.records[0].attributes["baseColour"] == "Red"
    ds = ImageTextDataset(root, 32, split="all", progress=False)
    assert ds.images.shape == (16, 3, 32, 32) and ds.images.dtype.is_floating_point is False
    assert ds.vocabulary()["baseColour"][0] in {"Red", "Blue", "Green", "Black"}


def test_caption_column_is_selectable(metadata_folder):
    scan = scan_folder(metadata_folder, caption_column="articleType")
    assert scan.records[0].caption == "Shirts"
    with pytest.raises(DatasetError, match="no caption column 'missing'"):
        scan_folder(metadata_folder, caption_column="missing")


def test_class_subfolders_become_captions(tmp_path):
    scan = scan_folder(make_class_folder(tmp_path / "k"))
    assert scan.layout == "class subfolders"
    assert {r.caption for r in scan.records} == {"red hat", "blue hat", "green hat", "black hat"}


def test_txt_captions_beside_images(tmp_path):
    scan = scan_folder(make_caption_folder(tmp_path / "t"))
    assert scan.layout.startswith("captions")
    captions = {r.path.name: r.caption for r in scan.records}
    assert captions["item0.jpg"] == "a red sneaker"
    assert captions["uncaptioned.jpg"] is None
    assert scan.summary()["caption_coverage"] == 0.8


def test_flat_folder_is_unconditional(flat_folder):
    ds = ImageTextDataset(flat_folder, 16, split="all", progress=False)
    assert not ds.has_captions and len(ds) == 6


def test_corrupt_and_odd_files_are_skipped_with_reasons(tmp_path):
    root = make_flat_folder(tmp_path / "mixed", n=4)
    (root / "zero.jpg").write_bytes(b"")
    (root / "fake.png").write_text("<html>")
    (root / "notes.docx").write_bytes(b"PK")
    buffer = io.BytesIO()
    product_photo("red", size=(300, 300)).save(buffer, format="JPEG")
    (root / "truncated.jpg").write_bytes(buffer.getvalue()[:500])
    product_photo("blue").convert("CMYK").save(root / "cmyk.jpg")
    Image.fromarray(np.full((20, 30), 40000, np.uint16)).save(root / "sixteen.png")
    product_photo("green").convert("P").save(root / "palette.png")
    ds = ImageTextDataset(root, 16, split="all", progress=False)
    assert len(ds) == 7  # 4 + cmyk + 16-bit + palette
    reasons = dict(ds.skipped)
    assert set(reasons) == {"zero.jpg", "fake.png", "notes.docx", "truncated.jpg"}
    assert "empty" in reasons["zero.jpg"] and "not an image" in reasons["notes.docx"]


def test_missing_listed_file_is_skipped(metadata_folder):
    (metadata_folder / "images" / "red0.jpg").unlink()
    scan = scan_folder(metadata_folder)
    assert ("images/red0.jpg", "listed in metadata but missing") in scan.skipped


def test_folder_without_images_names_the_folder(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="empty"):
        ImageTextDataset(tmp_path / "empty", 16, progress=False)


def test_validation_split_is_deterministic_and_disjoint(metadata_folder):
    train = ImageTextDataset(metadata_folder, 16, "train", val_fraction=0.3, progress=False)
    val = ImageTextDataset(metadata_folder, 16, "validation", val_fraction=0.3, progress=False)
    assert len(train) + len(val) == 16 and len(val) > 0
    assert not {r.path for r in train.records} & {r.path for r in val.records}
    again = ImageTextDataset(metadata_folder, 16, "validation", val_fraction=0.3, progress=False)
    assert [r.path for r in again.records] == [r.path for r in val.records]
    assert is_validation(val.records[0].path, metadata_folder, 0.3)
