"""The measurement protocol every benchmark (and `evaluate.py`) shares, so numbers compare across them.

- real set: the first `real` validation images (train.py's hash split); floor: as many training
  images (disjoint) against them;
- every image padded to a white square at the model's resolution; features: EfficientNet-Lite0,
  mean-pooled 1280-d (`core.features.pooled_features`), cached on disk keyed by the pixels;
- Fréchet distance between feature sets (`core.metrics.frechet_distance`);
- linear probes per attribute column (most common values), trained on other training images;
  their accuracy on real validation images is the ceiling a conditional generator can reach.
"""
from __future__ import annotations

import hashlib
import os
from collections import Counter
from functools import cached_property
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from core.data import ImageTextDataset
from core.checkpoints import atomic_path
from core.features import INPUT_SIZE, pooled_features
from core.metrics import LinearProbe, frechet_distance

CACHE = Path(os.environ.get("ATELIER_CACHE", Path(__file__).resolve().parent.parent / "bench" / ".cache"))
PROBE_COLUMNS = {"articleType": 20, "baseColour": 12, "gender": 5, "usage": 6}


def cached_features(images: torch.Tensor, tag: str, size: int = INPUT_SIZE, cache_dir: str | Path = CACHE) -> torch.Tensor:
    """Features are the slow part; keep them on disk keyed by the pixels (so only identical images hit)."""
    key = hashlib.sha1(images.numpy().tobytes()).hexdigest()[:16]
    path = Path(cache_dir) / (f"{tag}-{key}.safetensors" if size == INPUT_SIZE else f"{tag}-{size}px-{key}.safetensors")
    if path.is_file():
        return load_file(str(path))["features"]
    features = pooled_features(images, size=size)
    with atomic_path(path) as tmp:
        save_file({"features": features}, str(tmp))
    return features


class Probe:
    """A probe for one attribute column, with the validation rows it can judge and its ceiling."""

    def __init__(self, column: str, model: LinearProbe, rows: list[int], labels: list[str], ceiling: float):
        self.column, self.model, self.rows, self.labels, self.ceiling = column, model, rows, labels, ceiling

    @property
    def classes(self) -> list[str]:
        return self.model.classes


class Protocol:
    def __init__(self, data_dir: str, resolution: int = 64, real: int = 2000, probe_train: int = 6000):
        self.val = ImageTextDataset(data_dir, resolution, "validation")
        self.train = ImageTextDataset(data_dir, resolution, "train")
        self.n = min(real, len(self.val))
        self.probe_train = probe_train
        self.real = cached_features(self.val.images[:self.n], "val")

    @property
    def captions(self) -> list[str]:
        return [self.val.captions[i] or "" for i in range(self.n)]

    @cached_property
    def floor_fd(self) -> float:
        floor_idx = torch.randperm(len(self.train), generator=torch.Generator().manual_seed(1))[:self.n]
        return frechet_distance(self.real, cached_features(self.train.images[floor_idx], "floor"))

    def fd(self, features: torch.Tensor) -> float:
        return frechet_distance(self.real, features)

    @cached_property
    def probe_items(self) -> torch.Tensor:
        """The training items the probes learn from."""
        return torch.randperm(len(self.train), generator=torch.Generator().manual_seed(2))[:self.probe_train]

    @cached_property
    def probes(self) -> dict[str, Probe]:
        features = cached_features(self.train.images[self.probe_items], "probe")
        out = {}
        for column, model in attribute_probes(self.train, self.probe_items.tolist(), features).items():
            rows = [i for i in range(self.n) if self.val.attributes[i].get(column) in model.index]
            labels = [self.val.attributes[i][column] for i in rows]
            out[column] = Probe(column, model, rows, labels, model.accuracy(self.real[rows], labels))
        return out


def attribute_probes(data: ImageTextDataset, items: list[int], features: torch.Tensor) -> dict[str, LinearProbe]:
    """One linear probe per column of PROBE_COLUMNS (over its most common values in `data`), fitted on
    the `features` of `items` that carry one of those values."""
    out = {}
    for column, top in PROBE_COLUMNS.items():
        counts = Counter(a.get(column) for a in data.attributes if a.get(column))
        classes = [c for c, _ in counts.most_common(top)]
        if len(classes) < 2:
            continue
        keep = [j for j, i in enumerate(items) if data.attributes[i].get(column) in classes]
        out[column] = LinearProbe(classes).fit(features[keep], [data.attributes[items[j]][column] for j in keep])
    return out
