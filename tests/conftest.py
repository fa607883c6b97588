"""Fixtures: tiny image folders in every layout a user may hand us, made fresh in each test."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SHARED_DATA = Path(os.environ.get("ATELIER_DATA", ROOT.parent / "shared" / "data"))
SHIPPED_GAN = ROOT / "checkpoints" / "gan-fashion64"

COLOURS = {"red": (220, 30, 30), "blue": (30, 60, 200), "green": (30, 170, 60), "black": (20, 20, 20)}


def product_photo(colour: str, size=(60, 80), seed: int = 0) -> Image.Image:
    """A catalog-like picture: a coloured blob on white, slightly different per seed."""
    rng = np.random.default_rng(seed)
    w, h = size
    img = np.full((h, w, 3), 255, np.uint8)
    y0, x0 = rng.integers(5, h // 3), rng.integers(5, w // 3)
    img[y0:h - y0, x0:w - x0] = COLOURS[colour]
    return Image.fromarray(img)


def make_metadata_folder(root: Path, n_per_colour: int = 4, fmt: str = "csv") -> Path:
    (root / "images").mkdir(parents=True)
    rows = []
    for c, colour in enumerate(COLOURS):
        for i in range(n_per_colour):
            name = f"images/{colour}{i}.jpg"
            product_photo(colour, seed=c * 100 + i).save(root / name, quality=95)
            rows.append({"file_name": name, "text": f"{colour} cotton shirt", "baseColour": colour.title(),
                         "articleType": "Shirts", "gender": "Men" if i % 2 else "Women"})
    if fmt == "csv":
        import csv
        with open(root / "metadata.csv", "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    else:
        (root / "metadata.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return root


def make_class_folder(root: Path, n: int = 3) -> Path:
    for c, colour in enumerate(COLOURS):
        (root / f"{colour}_hat").mkdir(parents=True)
        for i in range(n):
            product_photo(colour, seed=c * 10 + i).save(root / f"{colour}_hat" / f"{i}.png")
    return root


def make_caption_folder(root: Path) -> Path:
    root.mkdir(parents=True)
    for c, colour in enumerate(COLOURS):
        product_photo(colour, seed=c).save(root / f"item{c}.jpg")
        (root / f"item{c}.txt").write_text(f"a {colour} sneaker\n")
    product_photo("red", seed=9).save(root / "uncaptioned.jpg")
    return root


def make_flat_folder(root: Path, n: int = 6) -> Path:
    root.mkdir(parents=True)
    for i in range(n):
        product_photo(list(COLOURS)[i % 4], seed=i).save(root / f"{i}.jpg")
    return root


@pytest.fixture
def metadata_folder(tmp_path):
    return make_metadata_folder(tmp_path / "catalog")


@pytest.fixture
def flat_folder(tmp_path):
    return make_flat_folder(tmp_path / "flat")
