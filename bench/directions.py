"""Slider-direction recipes side by side: the shipped class-mean boundaries against the alternatives
tried on the way, judged by `bench/latent.py`'s direction measure (same starts, probes, +2σ and +1).

    python bench/directions.py --data ../shared/data/fashion-products      # ~45 minutes on 2 CPU cores

Each recipe gives the named directions a new normal; everything after is the shipped pipeline
(`latent.directions`: colour made orthogonal to the category boundaries, σ and the class-gap unit
from the same 12,000 training latents); principal directions are unchanged. Recipes:
- class-mean: the shipped one (the difference of the two class means), recomputed;
- sigma-half: that difference multiplied by Σ^½, the square root of the latents' covariance, so a
  slider leans on the axes the data spread along;
- label-head (VAE only): the VAE's label head row for the value minus its column's mean row
  (close to a logistic-regression normal);
- within-category: gender and usage as the mean difference between products with and without the
  value inside each articleType, averaged with weights n₊n₋/(n₊+n₋), so the category is held fixed;
- category-free: gender and usage made orthogonal to the category boundaries, as colour is.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.latent import directions as judge  # noqa: E402
from core.evaluation import Protocol  # noqa: E402
from latent.directions import boundary, conditioned, dataset_latents, has_value, orthogonal_to, slider_scales  # noqa: E402
from latent.studio import Studio  # noqa: E402

HELD_BY_CATEGORY = ("gender", "usage")   # the columns the within-category and category-free recipes change
HEAD_COLUMNS = ("articleType", "baseColour", "gender", "usage")   # the shipped VAE's `--classify`, in order


@dataclass
class Labelled:
    """The training latents the directions are drawn from (only the coordinates sliders move), with their labels."""
    latents: torch.Tensor
    names: list[str]
    members: list[torch.Tensor]
    categories: list[str | None]
    vocabulary: dict[str, list[str]]   # of HEAD_COLUMNS, as `train.py vae --classify` numbers the label head's classes

    def columns(self, *wanted: str) -> list[int]:
        return [i for i, n in enumerate(self.names) if n.split("=", 1)[0] in wanted]


def class_mean(data: Labelled, studio: Studio) -> torch.Tensor:
    return torch.stack([boundary(data.latents, m) for m in data.members])


def sigma_half(data: Labelled, studio: Studio) -> torch.Tensor:
    centred = data.latents - data.latents.mean(0)
    values, vectors = torch.linalg.eigh(centred.T @ centred / (len(centred) - 1))
    root = vectors @ torch.diag(values.clamp_min(0).sqrt()) @ vectors.T
    return F.normalize(class_mean(data, studio) @ root, dim=1)


def label_head(data: Labelled, studio: Studio) -> torch.Tensor | None:
    head = getattr(studio.space.model, "classifier", None)
    if head is None:
        return None
    vocabulary = data.vocabulary
    sizes = [len(v) for v in vocabulary.values()]
    if sum(sizes) != head.out_features:
        raise SystemExit(f"{studio.space.folder}'s label head has {head.out_features} classes, not {HEAD_COLUMNS}'s {sum(sizes)}")
    rows = dict(zip(vocabulary, head.weight.detach().float().split(sizes)))
    normals = []
    for name in data.names:
        column, value = name.split("=", 1)
        normals.append(F.normalize(rows[column][vocabulary[column].index(value)] - rows[column].mean(0), dim=0))
    return torch.stack(normals)


def within_category(data: Labelled, studio: Studio) -> torch.Tensor:
    normals = class_mean(data, studio)
    groups = defaultdict(list)
    for j, category in enumerate(data.categories):
        groups[category].append(j)
    for i in data.columns(*HELD_BY_CATEGORY):
        total = torch.zeros(data.latents.shape[1])
        for rows in map(torch.tensor, groups.values()):
            positive = data.members[i][rows]
            n_pos, n_neg = int(positive.sum()), int((~positive).sum())
            if n_pos >= 5 and n_neg >= 5:
                latents = data.latents[rows]
                total += n_pos * n_neg / (n_pos + n_neg) * (latents[positive].mean(0) - latents[~positive].mean(0))
        normals[i] = F.normalize(total, dim=0)
    return normals


def category_free(data: Labelled, studio: Studio) -> torch.Tensor:
    normals = class_mean(data, studio)
    category = normals[data.columns("articleType")]
    for i in data.columns(*HELD_BY_CATEGORY):
        normals[i] = orthogonal_to(normals[i], category)
    return normals


RECIPES = {"class-mean": class_mean, "sigma-half": sigma_half, "label-head": label_head,
           "within-category": within_category, "category-free": category_free}


def with_recipe(studio: Studio, data: Labelled, all_latents: torch.Tensor, recipe) -> Studio | None:
    """`studio` with its named directions drawn by `recipe` (None if the recipe does not apply to it)."""
    normals = recipe(data, studio)
    if normals is None:
        return None
    d = studio.directions
    named = len(data.names)
    full = torch.zeros(named, d.vectors.shape[1])
    full[:, studio.space.attribute_dims] = normals
    vectors = torch.cat([conditioned(full, data.names), d.vectors[named:]])
    sigma, unit = slider_scales(all_latents, vectors, data.members)
    return Studio(studio.space, replace(d, vectors=vectors, sigma=sigma, unit=unit))


def labelled_latents(studio: Studio, protocol: Protocol) -> tuple[Labelled, torch.Tensor]:
    """The latents `python -m latent.directions` draws the shipped directions from (same items, same seed)."""
    latents, _, items = dataset_latents(studio.space, protocol.train, 12_000, 0)
    names = [n for n in studio.directions.names if "=" in n]
    members = [has_value(protocol.train, items, n) for n in names]
    categories = [protocol.train.attributes[i].get("articleType") for i in items]
    vocabulary = protocol.train.vocabulary(HEAD_COLUMNS)
    return Labelled(latents[:, studio.space.attribute_dims], names, members, categories, vocabulary), latents


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True)
    parser.add_argument("--vae", default=str(ROOT / "checkpoints" / "vae-fashion64"))
    parser.add_argument("--gan", default=str(ROOT / "checkpoints" / "gan-fashion64"))
    parser.add_argument("--recipes", nargs="+", default=list(RECIPES), choices=list(RECIPES))
    parser.add_argument("--starts", type=int, default=100, help="starting points per direction")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "directions.json"))
    args = parser.parse_args(argv)
    protocol = Protocol(args.data)
    results = {}
    for model, folder in (("vae", args.vae), ("gan", args.gan)):
        studio = Studio.from_pretrained(folder, device="cpu")
        data, all_latents = labelled_latents(studio, protocol)
        for name in args.recipes:
            edited = with_recipe(studio, data, all_latents, RECIPES[name])
            if edited is not None:
                print(f"{model}: {name}…", flush=True)
                results.setdefault(model, {})[name] = judge(edited, protocol, args.starts, 2.0)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2))
    print(render_table(results))


def render_table(results: dict) -> str:
    columns = ("articleType", "baseColour", "gender", "usage")
    lines = ["| model | recipe | +2σ " + " / ".join(columns) + " | slider +1, same | colour keeps the category, +2σ / +1 |",
             "|---|---|---|---|---|"]
    for model, recipes in results.items():
        for name, measured in recipes.items():
            raised = lambda step: " / ".join(f"{measured[step]['per_attribute'][c]['raised']:.0%}" for c in columns)
            kept = " / ".join(f"{measured[step]['per_attribute']['baseColour']['category_kept']:.0%}" for step in ("sigma", "slider_1"))
            lines.append(f"| {model.upper()} | {name} | {raised('sigma')} | {raised('slider_1')} | {kept} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
