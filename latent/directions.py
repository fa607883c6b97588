"""Directions in a latent space, stored beside the checkpoint as `directions.safetensors`.

- principal: PCA of encoded latents (VAE), or GANSpace for the GAN (Härkönen et al. 2020): PCA of
  the generator's first-layer activations, carried back to w by least squares; ordered by variance
  and made orthonormal.
- named: one linear boundary per attribute value from the metadata columns (InterFaceGAN, Shen et
  al. 2020), "value vs the rest" on the latents of training items; its unit normal is the slider's
  direction where no better one is known (below). We draw the boundary between the two class means
  rather than fit a logistic/SVM one: those normals point along low-variance axes that separate the
  classes but that the decoders barely respond to (+2σ on the VAE's "Red": red pixels 1.6 % → 4.2 %
  with a logistic normal, → 10.7 % with the class-mean one). Colour directions are made orthogonal
  to the category directions (InterFaceGAN's conditional manipulation) so "more red" does not turn
  a shirt into a bag. `bench/directions.py` measures the other recipes tried (Σ^½- and Σ-weighted,
  the VAE's label head, gender and usage within each category, attributes swapped in descriptions,
  learned through a classifier) beside this one.
- from what the product is: a named slider moves a product from the mean latent of its own value
  of that column (the nearest class mean, e.g. "White") to the mean of the slider's value ("Red"),
  so "Sports Shoes" takes a T-shirt along T-shirt → sports shoe rather than along "sports shoes vs
  everything else", which for a T-shirt is only partly the way to a shoe. Gender and usage are kept
  per category (SUBGROUPED: "Men" T-shirts, "Women" T-shirts, "Women" handbags…): a men's T-shirt
  on "Women" goes from the nearest group to the nearest group that carries the value, a women's
  T-shirt, rather than towards the average women's product, a blend of tops, heels and handbags.
  (Unlike bench/directions.py's within-category recipe, one direction for every product, this
  still lets a product change category where the value needs it: 1 of the 1,259 heels is a man's.)
  A product that already has the value moves along the boundary normal, and so does every product
  on a slider whose value has no group of CLASS_MIN products (too few for a mean).

A slider's unit is the latent distance one step moves. Principal sliders step by σ, the spread of
the data along the axis. A named slider's +1 carries a typical product of the start's value to a
typical one with the slider's (along the normal: by the class gap, the distance between the means
of the products with and without the value). σ is the wrong unit there: most products sit near the
mean and a few (the ones whose captions say "Red") far out, so on the 180-minute GAN "Men Red
Tshirts" lies 5σ from "Men White Tshirts" along "Red", and a ±3σ slider could never get there.

    python -m latent.directions checkpoints/vae-fashion64 --data ../shared/data/fashion-products
"""
from __future__ import annotations

import argparse
import json
from collections import Counter
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors import safe_open
from safetensors.torch import save_file

from core.checkpoints import CheckpointError, atomic_path
from latent.space import GANSpace, LatentSpace, load_space

FILE = "directions.safetensors"
ATTRIBUTES = ("baseColour", "articleType", "gender", "usage")
KEEP_CATEGORY = {"baseColour": "articleType"}  # colour sliders are made orthogonal to the category boundaries
SUBGROUPED = {"gender": "articleType", "usage": "articleType"}  # their class means are kept per category
CLASS_MIN = 30  # products a value (or a value within a category) needs among the sampled ones for its mean latent to be kept


@dataclass
class Directions:
    names: list[str]        # "baseColour=Red" (named) or "PC 1" (principal)
    vectors: torch.Tensor   # (n, d), unit length
    sigma: torch.Tensor     # (n,) standard deviation of the latents along each direction
    unit: torch.Tensor      # (n,) latent distance of one slider step: the class gap (named) or σ (principal)
    mean: torch.Tensor      # (d,) mean latent of the data
    scale: torch.Tensor     # (d, d) lower-triangular factor of the latents' covariance, for random starts
    model_id: str
    classes: list[str]      # groups of at least CLASS_MIN products: "column=value", or "column=value|articleType=…" (SUBGROUPED)
    class_means: torch.Tensor  # (len(classes), d) their mean latents, zero outside the space's attribute dims

    @property
    def labels(self) -> list[str]:
        return [n.split("=", 1)[1] if "=" in n else n for n in self.names]

    def index(self, name: str) -> int:
        try:
            return self.names.index(name)
        except ValueError:
            raise KeyError(name) from None

    @cached_property
    def _class_rows(self) -> dict[str, list[int]]:
        """Rows of `class_means` per attribute column."""
        rows: dict[str, list[int]] = {}
        for j, c in enumerate(self.classes):
            rows.setdefault(c.split("=", 1)[0], []).append(j)
        return rows

    @cached_property
    def _values(self) -> list[str]:
        """The attribute value of each row of `class_means` ("Women" for "gender=Women|articleType=Tshirts")."""
        return [c.split("|", 1)[0].split("=", 1)[1] for c in self.classes]

    @cached_property
    def _kept_basis(self) -> dict[str, torch.Tensor]:
        """Per column of KEEP_CATEGORY, an orthonormal basis of the boundary normals its moves keep clear of."""
        return {column: torch.linalg.qr(self.vectors[[j for j, n in enumerate(self.names) if n.startswith(keep + "=")]].T)[0]
                for column, keep in KEEP_CATEGORY.items()}

    def _nearest(self, latent: torch.Tensor, rows: list[int]) -> int:
        return rows[int((self.class_means[rows] - latent).square().sum(1).argmin())]

    def own_value(self, latent: torch.Tensor, column: str) -> str | None:
        """The value of `column` whose mean latent (or group mean) is nearest `latent` (None if the column has no means)."""
        rows = self._class_rows.get(column)
        return self._values[self._nearest(latent, rows)] if rows else None

    def offset(self, base: torch.Tensor, name: str) -> torch.Tensor:
        """Where +1 on slider `name` moves `base`: for a named slider, from the group mean nearest the
        base (its own value) to the nearest group mean with the slider's value (colour keeping clear of
        the category boundaries); otherwise one unit along the direction."""
        i = self.index(name)
        column, _, value = name.partition("=")
        rows = self._class_rows.get(column, []) if value else []
        targets = [j for j in rows if self._values[j] == value]
        own = self._nearest(base.float(), rows) if targets else None
        if own is None or self._values[own] == value:
            return self.unit[i] * self.vectors[i]
        return self.clear_of_kept(column, self.class_means[self._nearest(self.class_means[own], targets)] - self.class_means[own])

    def clear_of_kept(self, column: str, vector: torch.Tensor) -> torch.Tensor:
        """`vector` without its components along the boundaries a move of `column` keeps clear of
        (KEEP_CATEGORY: colour moves keep the category); unchanged for other columns."""
        if column not in self._kept_basis:
            return vector
        Q = self._kept_basis[column]
        return vector - Q @ (Q.T @ vector)

    def spread(self, direction: torch.Tensor) -> float:
        """Standard deviation of the data's latents along `direction` (any length)."""
        return float((self.scale.T @ F.normalize(direction, dim=0)).norm())

    def save(self, folder: str | Path) -> Path:
        path = Path(folder) / FILE
        tensors = {"vectors": self.vectors.contiguous(), "sigma": self.sigma, "unit": self.unit, "mean": self.mean,
                   "scale": self.scale.contiguous(), "class_means": self.class_means.contiguous()}
        with atomic_path(path) as tmp:
            save_file(tensors, str(tmp), metadata={"names": json.dumps(self.names), "model_id": self.model_id,
                                                   "classes": json.dumps(self.classes)})
        return path

    @classmethod
    def load(cls, folder: str | Path, space: LatentSpace | None = None) -> "Directions":
        path = Path(folder) / FILE
        if not path.is_file():
            raise CheckpointError(f"{folder} has no {FILE}; compute it with `python -m latent.directions {folder} --data DIR`")
        try:
            with safe_open(str(path), framework="pt") as f:
                meta = f.metadata()
                tensors = {k: f.get_tensor(k).float() for k in f.keys()}
            directions = cls(json.loads(meta["names"]), tensors["vectors"], tensors["sigma"], tensors["unit"], tensors["mean"],
                             tensors["scale"], meta["model_id"], json.loads(meta["classes"]), tensors["class_means"])
        except Exception as e:
            raise CheckpointError(f"{path} is damaged or from an older version ({type(e).__name__}); recompute it with `python -m latent.directions {folder} --data DIR`") from None
        if space is not None and directions.model_id != space.id:
            raise CheckpointError(f"{path} was computed for another version of the model; recompute it with "
                                  f"`python -m latent.directions {folder} --data DIR`")
        return directions


def principal_directions(features: torch.Tensor, latents: torch.Tensor, k: int) -> torch.Tensor:
    """Top-k principal axes of `features`, expressed in latent space (the identity when features
    are the latents) and made orthonormal in order, so the first keeps the most variance."""
    centred = features - features.mean(0)
    _, _, V = torch.linalg.svd(centred, full_matrices=False)
    if features is latents:
        return V[:k]
    coefficients = centred @ V[:k].T                                      # (N, k)
    to_latent = torch.linalg.lstsq(coefficients, latents - latents.mean(0)).solution   # (k, d)
    Q, R = torch.linalg.qr(to_latent.T)                                  # Gram–Schmidt in order of variance
    return (Q * torch.sign(torch.diagonal(R))).T


def boundary(latents: torch.Tensor, positive: torch.Tensor) -> torch.Tensor:
    """Unit normal of the linear boundary between the latents with an attribute value and the rest,
    as a nearest-centroid classifier draws it: the difference of the two class means."""
    return F.normalize(latents[positive].mean(0) - latents[~positive].mean(0), dim=0)


def orthogonal_to(vector: torch.Tensor, others: torch.Tensor) -> torch.Tensor:
    """`vector` with its components along the span of `others` (rows) removed, unit length."""
    Q, _ = torch.linalg.qr(others.T)
    return F.normalize(vector - Q @ (Q.T @ vector), dim=0)


def dataset_latents(space: LatentSpace, data, limit: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, list[int]]:
    """Latents of (up to `limit`) training items and the features PCA runs on; returns (latents, features, item indices)."""
    generator = torch.Generator().manual_seed(seed)
    items = torch.randperm(len(data), generator=generator)[:limit].sort().values.tolist()
    chunks, features = [], []
    for start in range(0, len(items), 256):
        batch = items[start:start + 256]
        if isinstance(space, GANSpace):
            noise = space.noise(len(batch), generator)
            prompts = [data.captions[i] for i in batch] if space.conditional else None
            w = space.map(noise, prompts)
            chunks.append(w)
            features.append(space.stem_features(w))
        else:
            chunks.append(space.encode_pixels(data.images[batch]))
    latents = torch.cat(chunks)
    return latents, (torch.cat(features) if features else latents), items


def named_values(data, items: list[int], per_attribute: int, min_count: int) -> list[str]:
    """"column=value" for the most common values of each attribute among `items`, skipping values
    with fewer than `min_count` products on either side of the boundary."""
    names = []
    for attribute in ATTRIBUTES:
        values = [data.attributes[i].get(attribute) for i in items]
        counts = Counter(v for v in values if v)
        names += [f"{attribute}={value}" for value, count in counts.most_common(per_attribute)
                  if count >= min_count and len(values) - count >= min_count]
    return names


def class_values(data, items: list[int]) -> list[str]:
    """The groups whose mean latents are kept, every one that at least CLASS_MIN of `items` belong to:
    "column=value" per value of each attribute, "column=value|articleType=…" for SUBGROUPED columns."""
    def group(attributes: dict, column: str) -> str | None:
        value, within = attributes.get(column), SUBGROUPED.get(column)
        if not value or (within and not attributes.get(within)):
            return None
        return f"{column}={value}" + (f"|{within}={attributes[within]}" if within else "")

    counts = Counter(g for i in items for a in ATTRIBUTES if (g := group(data.attributes[i], a)))
    return [g for g, n in sorted(counts.items(), key=lambda kv: (ATTRIBUTES.index(kv[0].split("=", 1)[0]), -kv[1])) if n >= CLASS_MIN]


def has_value(data, items: list[int], name: str) -> torch.Tensor:
    """Which of `items` carry the value named "column=value" (or every value of a group "column=value|column=value")."""
    parts = [part.split("=", 1) for part in name.split("|")]
    return torch.tensor([all(data.attributes[i].get(a) == v for a, v in parts) for i in items])


def conditioned(normals: torch.Tensor, names: list[str]) -> torch.Tensor:
    """Each attribute of KEEP_CATEGORY made orthogonal to the boundaries of the attribute it keeps."""
    columns = [n.split("=", 1)[0] for n in names]
    out = normals.clone()
    for attribute, keep in KEEP_CATEGORY.items():
        kept = normals[[i for i, c in enumerate(columns) if c == keep]]
        if len(kept):
            for i in (i for i, c in enumerate(columns) if c == attribute):
                out[i] = orthogonal_to(normals[i], kept)
    return out


def slider_scales(latents: torch.Tensor, vectors: torch.Tensor, members: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """σ of the latents along each direction, and each slider's unit: the class gap for the first
    len(members) (named) directions, σ for the rest (principal)."""
    coordinates = (latents - latents.mean(0)) @ vectors.T
    sigma = coordinates.std(0)
    gaps = [coordinates[m, i].mean() - coordinates[~m, i].mean() for i, m in enumerate(members)]
    unit = torch.cat([torch.stack(gaps), sigma[len(members):]]) if gaps else sigma
    return sigma, unit


def compute_directions(space: LatentSpace, data, principal: int = 10, per_attribute: int = 12,
                       min_count: int = 100, limit: int = 12_000, seed: int = 0) -> Directions:
    latents, features, items = dataset_latents(space, data, limit, seed)
    named = named_values(data, items, per_attribute, min_count)
    members = [has_value(data, items, name) for name in named]
    dims = space.attribute_dims
    normals = torch.zeros(len(named), latents.shape[1])
    for i, positive in enumerate(members):
        normals[i, dims] = boundary(latents[:, dims], positive)
    pcs = principal_directions(features, latents, min(principal, latents.shape[1]))
    vectors = torch.cat([conditioned(normals, named), pcs])
    sigma, unit = slider_scales(latents, vectors, members)
    centred = latents - latents.mean(0)
    covariance = centred.T @ centred / (len(latents) - 1)
    scale = torch.linalg.cholesky(covariance + 1e-5 * torch.eye(len(covariance)))
    names = named + [f"PC {i + 1}" for i in range(len(pcs))]
    classes = class_values(data, items)
    class_means = torch.zeros(len(classes), latents.shape[1])
    for j, name in enumerate(classes):
        class_means[j, dims] = latents[has_value(data, items, name)][:, dims].mean(0)
    return Directions(names, vectors, sigma, unit, latents.mean(0), scale, space.id, classes, class_means)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Compute slider directions for a VAE or GAN checkpoint.")
    parser.add_argument("model", help="checkpoint folder (e.g. checkpoints/vae-fashion64)")
    parser.add_argument("--data", required=True, help="the training folder (its metadata columns name the directions)")
    parser.add_argument("--caption-column", default="text")
    parser.add_argument("--principal", type=int, default=10)
    parser.add_argument("--per-attribute", type=int, default=12, help="most common values per attribute column")
    parser.add_argument("--min-count", type=int, default=100, help="skip values with fewer examples")
    parser.add_argument("--limit", type=int, default=12_000, help="training items used")
    args = parser.parse_args(argv)
    from core.data import DatasetError, ImageTextDataset

    try:
        space = load_space(args.model, "cpu")
        data = ImageTextDataset(args.data, space.resolution, "train", caption_column=args.caption_column)
    except (CheckpointError, DatasetError) as e:
        parser.error(str(e))
    directions = compute_directions(space, data, args.principal, args.per_attribute, args.min_count, args.limit)
    path = directions.save(args.model)
    print(f"{len(directions.names)} directions → {path}: " + ", ".join(directions.names))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
