"""The one dataset: any folder a user hands us → uint8 image tensor + captions + attributes.

Layouts, checked in this order:
1. `metadata.csv` / `metadata.jsonl` at the root (Hugging Face ImageFolder): `file_name` plus a
   caption column (`caption_column`, default `text`); the other columns become attributes.
2. `.txt` files beside images (`shirt.jpg` + `shirt.txt`).
3. class subfolders (`<class>/*.jpg`): the class name is the caption.
4. a flat folder of images: no captions (unconditional).

Every image is decoded once, padded (or, for photos, centre-cropped) to a square, resized and kept in memory as uint8, so an
epoch never re-decodes JPEGs. Files that cannot be used are skipped with a reason.
"""
from __future__ import annotations

import csv
import json
import zlib
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from core.images import IMAGE_EXTENSIONS, ImageError, load_image, prepare_square

MISSING_VALUES = {"", "na", "n/a", "nan", "none", "null"}


class DatasetError(ValueError):
    """The folder cannot be used for training; the message names the folder and the reason."""


@dataclass
class Record:
    path: Path
    caption: str | None
    attributes: dict[str, str] = field(default_factory=dict)


@dataclass
class FolderScan:
    root: Path
    layout: str
    records: list[Record]
    skipped: list[tuple[str, str]]  # (file, reason)

    def summary(self) -> dict:
        captioned = sum(r.caption is not None for r in self.records)
        reasons = Counter(reason for _, reason in self.skipped)
        return {
            "folder": str(self.root),
            "layout": self.layout,
            "images": len(self.records),
            "captioned": captioned,
            "caption_coverage": round(captioned / len(self.records), 4) if self.records else 0.0,
            "skipped": len(self.skipped),
            "skipped_reasons": dict(reasons.most_common()),
        }


def _clean(value) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return None if text.lower() in MISSING_VALUES else text


def _read_metadata(path: Path) -> list[dict]:
    if path.suffix == ".csv":
        with open(path, newline="", encoding="utf-8-sig") as f:
            return list(csv.DictReader(f))
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                rows.append(json.loads(line))
    return rows


def _is_image(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in IMAGE_EXTENSIONS and not path.name.startswith(".")


def scan_folder(root: str | Path, caption_column: str = "text") -> FolderScan:
    """Find the images and captions in `root`; decide the layout. Nothing is decoded yet."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root}: not a folder")
    skipped: list[tuple[str, str]] = []

    for name in ("metadata.csv", "metadata.jsonl"):
        meta = root / name
        if meta.is_file():
            rows = _read_metadata(meta)
            if rows and "file_name" not in rows[0]:
                raise DatasetError(f"{meta}: has no `file_name` column")
            if rows and caption_column not in rows[0]:
                raise DatasetError(
                    f"{meta}: has no caption column {caption_column!r}; columns: {', '.join(rows[0])}"
                )
            records = []
            for row in rows:
                file_name = _clean(row.get("file_name"))
                if file_name is None:
                    skipped.append((f"{name} row", "empty file_name"))
                    continue
                path = root / file_name
                if not _is_image(path):
                    skipped.append((file_name, "listed in metadata but missing" if not path.exists() else "not an image file"))
                    continue
                attributes = {k: v for k, v in ((k, _clean(v)) for k, v in row.items() if k not in ("file_name", caption_column)) if v is not None}
                records.append(Record(path, _clean(row.get(caption_column)), attributes))
            return FolderScan(root, f"metadata ({name})", records, skipped)

    files = sorted(p for p in root.rglob("*") if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts))
    images = [p for p in files if p.suffix.lower() in IMAGE_EXTENSIONS]
    skipped += [(str(p.relative_to(root)), "not an image file") for p in files if p.suffix.lower() not in IMAGE_EXTENSIONS | {".txt", ".csv", ".jsonl", ".md"} and p.name != "LICENSE"]

    if any(p.with_suffix(".txt").is_file() for p in images):
        records = [Record(p, _clean(p.with_suffix(".txt").read_text(encoding="utf-8", errors="replace")) if p.with_suffix(".txt").is_file() else None) for p in images]
        return FolderScan(root, "captions (.txt beside images)", records, skipped)

    if images and all(p.parent != root for p in images):
        records = [Record(p, p.parent.name.replace("_", " ").replace("-", " "), {"class": p.parent.name}) for p in images]
        return FolderScan(root, "class subfolders", records, skipped)

    return FolderScan(root, "flat (no captions)", [Record(p, None) for p in images], skipped)


def is_validation(path: Path, root: Path, fraction: float) -> bool:
    """A deterministic split: a hash of the relative path, stable when files are added."""
    key = str(path.relative_to(root)).replace("\\", "/").encode()
    return (zlib.crc32(key) % 10_000) < fraction * 10_000


def _decode(record: Record, resolution: int, fill, fit: str) -> np.ndarray | str:
    try:
        return np.asarray(prepare_square(load_image(record.path), resolution, fill, fit), dtype=np.uint8)
    except ImageError as e:
        return str(e).split(": ", 1)[-1]
    except Exception as e:  # a damaged file must never stop a training run
        return f"unreadable ({type(e).__name__})"


class ImageTextDataset(torch.utils.data.Dataset):
    """Decoded images (N, 3, H, W uint8), captions and attributes for one split of a folder."""

    def __init__(self, root, resolution: int = 64, split: str = "train", val_fraction: float = 0.05,
                 caption_column: str = "text", fill=(255, 255, 255), limit: int | None = None,
                 progress: bool = True, fit: str = "pad"):
        if split not in ("train", "validation", "all"):
            raise ValueError("split must be 'train', 'validation' or 'all'")
        scan = scan_folder(root, caption_column)
        records = scan.records
        if split != "all":
            records = [r for r in records if is_validation(r.path, scan.root, val_fraction) == (split == "validation")]
        if limit:
            records = records[:limit]
        self.root, self.layout, self.resolution = scan.root, scan.layout, resolution
        self.skipped = list(scan.skipped)

        with ThreadPoolExecutor(max_workers=4) as pool:
            decoded = list(tqdm(pool.map(lambda r: _decode(r, resolution, fill, fit), records), total=len(records),
                                desc=f"decoding {split} images", disable=not progress, leave=False))
        kept = []
        for record, result in zip(records, decoded):
            if isinstance(result, str):
                self.skipped.append((str(record.path.relative_to(scan.root)), result))
            else:
                kept.append((record, result))
        if not kept:
            raise DatasetError(f"{scan.root}: no usable images for split '{split}' ({len(self.skipped)} skipped)")
        self.records = [r for r, _ in kept]
        self.images = torch.from_numpy(np.stack([a for _, a in kept])).permute(0, 3, 1, 2).contiguous()
        self.captions = [r.caption for r in self.records]
        self.attributes = [r.attributes for r in self.records]

    @property
    def has_captions(self) -> bool:
        return any(c is not None for c in self.captions)

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, i):
        return self.images[i], self.captions[i]

    def vocabulary(self, columns=("articleType", "baseColour", "gender", "class"), top: int = 40) -> dict:
        """What the data covers, for the UI: the most common values of each attribute column."""
        out = {}
        for column in columns:
            counts = Counter(a[column] for a in self.attributes if column in a)
            if counts:
                out[column] = [v for v, _ in counts.most_common(top)]
        return out
