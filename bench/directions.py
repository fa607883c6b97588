"""Slider-direction recipes side by side: the shipped sliders and their class-mean boundaries against
the alternatives tried on the way, judged by `bench/latent.py`'s direction measure (same starts, probes, +2σ and +1).

    python bench/directions.py --data ../shared/data/fashion-products      # ~110 minutes on 2 CPU cores (classifier-guided ~30)
    python bench/directions.py --data ../shared/data/fashion-products --models gan --recipes class-mean caption-swap   # a few, ~10

Each recipe gives the named directions a new normal and moves every product along it, as the shipped
sliders did before session 53; everything after is the shipped pipeline (`latent.directions`: colour
made orthogonal to the category boundaries, σ and the class-gap unit from the same 12,000 training
latents); principal directions are unchanged. Recipes:
- shipped: the directions as shipped, a named slider moving each product from its own value's mean
  towards the slider's value's (the class-mean normal only for products that already have the value);
- class-mean: the boundary normal the shipped sliders fall back on (the difference of the two class
  means), recomputed, with every product moved along it (the shipped sliders before session 53);
- sigma-half: that difference multiplied by Σ^½, the square root of the latents' covariance, so a
  slider leans on the axes the data spread along;
- sigma: the same with Σ itself (the opposite of LDA's Σ⁻¹, which leans on the axes the decoders ignore);
- label-head (VAE only): the VAE's label head row for the value minus its column's mean row
  (close to a logistic-regression normal);
- within-category: gender and usage as the mean difference between products with and without the
  value inside each articleType, averaged with weights n₊n₋/(n₊+n₋), so the category is held fixed;
- category-free: gender and usage made orthogonal to the category boundaries, as colour is;
- caption-swap (GAN only): the mean change in w when one attribute is swapped in a description
  written from the metadata ("Men Casual Navy Blue Shirts" → "Men Casual Red Shirts"), over training
  items with another value: the direction the generator learned for the words, free of what merely
  co-occurs with the value in the catalog (red products are more often women's);
- gan-pairs (VAE only): the same swap drawn by the shipped GAN, each pair from one noise, and
  encoded by the VAE: the mean change in μ between the two images;
- classifier-guided: each normal learned through the decoder: starting from the class-mean one, Adam moves it
  so that +2σ along it raises an image classifier's log-probability of the value on training starts
  without the value (colour: also keeping that classifier's category distribution, inside the
  complement of the learned category normals). The classifier (`AttributeClassifier`) is a small CNN
  trained here from scratch on 64-px training images the probes do not use, so what the directions
  learn has to carry over to a different network (the probes read EfficientNet-Lite0) to count.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections import defaultdict
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch import nn
from tqdm import tqdm

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.latent import directions as judge  # noqa: E402
from core.checkpoints import atomic_path  # noqa: E402
from core.evaluation import CACHE, Protocol  # noqa: E402
from core.outputs import from_uint8  # noqa: E402
from latent.directions import boundary, conditioned, dataset_latents, has_value, orthogonal_to, slider_scales  # noqa: E402
from latent.space import load_space  # noqa: E402
from latent.studio import Studio  # noqa: E402

HELD_BY_CATEGORY = ("gender", "usage")   # the columns the within-category and category-free recipes change
DESCRIBED = ("gender", "usage", "baseColour", "articleType")   # the columns a swapped description names, in catalog word order
HEAD_COLUMNS = ("articleType", "baseColour", "gender", "usage")   # the shipped VAE's `--classify`, in order


@dataclass
class Labelled:
    """The training latents the directions are drawn from (only the coordinates sliders move), with their labels."""
    latents: torch.Tensor
    names: list[str]
    members: list[torch.Tensor]
    vocabulary: dict[str, list[str]]   # of HEAD_COLUMNS, as `train.py vae --classify` numbers the label head's classes
    full_latents: torch.Tensor          # all coordinates, the noise part of a GAN's w included
    attributes: list[dict[str, str]]    # each item's metadata

    def columns(self, *wanted: str) -> list[int]:
        return [i for i, n in enumerate(self.names) if n.split("=", 1)[0] in wanted]


def class_mean(data: Labelled, studio: Studio) -> torch.Tensor:
    return torch.stack([boundary(data.latents, m) for m in data.members])


def covariance_power(data: Labelled, power: float) -> torch.Tensor:
    centred = data.latents - data.latents.mean(0)
    values, vectors = torch.linalg.eigh(centred.T @ centred / (len(centred) - 1))
    return vectors @ torch.diag(values.clamp_min(0).pow(power)) @ vectors.T


def sigma_half(data: Labelled, studio: Studio) -> torch.Tensor:
    return F.normalize(class_mean(data, studio) @ covariance_power(data, 0.5), dim=1)


def sigma(data: Labelled, studio: Studio) -> torch.Tensor:
    return F.normalize(class_mean(data, studio) @ covariance_power(data, 1.0), dim=1)


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
    for j, attributes in enumerate(data.attributes):
        groups[attributes.get("articleType")].append(j)
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


def describe(attributes: dict[str, str]) -> str:
    return " ".join(attributes[c] for c in DESCRIBED)


def swapped_descriptions(data: Labelled, per_value: int):
    """Per named value: descriptions of up to `per_value` training items with another value, and the
    same descriptions with the value swapped in ("Men Casual Navy Blue Shirts" → "Men Casual Red Shirts")."""
    complete = [j for j, a in enumerate(data.attributes) if all(a.get(c) for c in DESCRIBED)]
    generator = torch.Generator().manual_seed(0)
    for name in tqdm(data.names, desc="swapped descriptions", mininterval=10):
        column, value = name.split("=", 1)
        others = [j for j in complete if data.attributes[j][column] != value]
        chosen = [others[k] for k in torch.randperm(len(others), generator=generator)[:per_value].tolist()]
        yield [describe(data.attributes[j]) for j in chosen], [describe({**data.attributes[j], column: value}) for j in chosen]


def caption_swap(data: Labelled, studio: Studio, per_value: int = 2000) -> torch.Tensor | None:
    space = studio.space
    if space.kind != "gan" or not space.conditional:
        return None
    text_part = lambda prompts: space.map(torch.zeros(len(prompts), space.model.config.noise_dim), prompts)[:, space.attribute_dims]
    return torch.stack([F.normalize((text_part(after) - text_part(before)).mean(0), dim=0)
                        for before, after in swapped_descriptions(data, per_value)])


def gan_pairs(data: Labelled, studio: Studio, gan: str, per_value: int = 500) -> torch.Tensor | None:
    space = studio.space
    if not space.can_encode:
        return None
    generator_space = load_space(gan, "cpu")
    normals = []
    for before, after in swapped_descriptions(data, per_value):
        noise = generator_space.noise(len(before), torch.Generator().manual_seed(0))
        encoded = [space.encode_pixels(generator_space.decode(generator_space.map(noise, prompts))) for prompts in (before, after)]
        normals.append(F.normalize((encoded[1] - encoded[0]).mean(0), dim=0))
    return torch.stack(normals)


class AttributeClassifier(nn.Module):
    """A small CNN that reads 64-px images in [−1, 1] and predicts each HEAD_COLUMNS value."""

    def __init__(self, sizes: list[int], widths=(32, 64, 128)):
        super().__init__()
        layers, channels = [nn.Conv2d(3, 16, 3, stride=2, padding=1), nn.BatchNorm2d(16), nn.SiLU()], 16
        for width in widths:
            layers += [nn.Conv2d(channels, width, 3, padding=1), nn.BatchNorm2d(width), nn.SiLU(),
                       nn.Conv2d(width, width, 3, stride=2, padding=1), nn.BatchNorm2d(width), nn.SiLU()]
            channels = width
        self.body = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.2))
        self.head = nn.Linear(channels, sum(sizes))
        self.sizes = list(sizes)

    def forward(self, images: torch.Tensor) -> list[torch.Tensor]:
        return list(self.head(self.body(images)).split(self.sizes, dim=1))


def train_classifier(protocol: Protocol, vocabulary: dict[str, list[str]], epochs: int = 3, seed: int = 0) -> AttributeClassifier:
    """The attribute classifier, fitted on the training images the probes do not see (cached on disk)."""
    sizes = [len(v) for v in vocabulary.values()]
    classifier = AttributeClassifier(sizes)
    data_key = hashlib.sha1("\n".join(c or "" for c in protocol.train.captions).encode()).hexdigest()[:12]
    path = CACHE / f"attribute-classifier-{epochs}ep-{seed}-{data_key}.safetensors"
    if path.is_file():
        classifier.load_state_dict(load_file(str(path)))
        return classifier.eval().requires_grad_(False)
    probe_items = set(protocol.probe_items.tolist())
    items = torch.tensor([i for i in range(len(protocol.train)) if i not in probe_items])
    label = lambda value, values: values.index(value) if value in values else -100   # -100: cross_entropy skips it
    labels = torch.tensor([[label(protocol.train.attributes[i].get(column), values) for column, values in vocabulary.items()] for i in items.tolist()])
    torch.manual_seed(seed)
    optimizer = torch.optim.AdamW(classifier.parameters(), lr=2e-3, weight_decay=1e-4)
    steps = epochs * (len(items) // 128)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=2e-3, total_steps=steps)
    classifier.train()
    with tqdm(total=steps, desc="attribute classifier", mininterval=10) as bar:
        for _ in range(epochs):
            for rows in torch.randperm(len(items)).split(128):
                if len(rows) < 128:
                    continue
                images = from_uint8(protocol.train.images[items[rows]])
                images = torch.where(torch.rand(len(rows), 1, 1, 1) < 0.5, images.flip(3), images)
                blurred = F.avg_pool2d(F.pad(images, (1, 1, 1, 1), mode="replicate"), 3, stride=1)
                images = torch.where(torch.rand(len(rows), 1, 1, 1) < 0.3, blurred, images)  # decoders draw softer than photos
                loss = sum(F.cross_entropy(logits, labels[rows, j], ignore_index=-100) for j, logits in enumerate(classifier(images)))
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                schedule.step()
                bar.set_postfix(loss=f"{loss.item():.3f}")
                bar.update()
    classifier.eval().requires_grad_(False)
    with atomic_path(path) as tmp:
        save_file(classifier.state_dict(), str(tmp))
    return classifier


def classifier_accuracy(classifier: AttributeClassifier, protocol: Protocol, vocabulary: dict[str, list[str]]) -> dict[str, float]:
    """The classifier's accuracy per column on the real validation images the probes are measured on."""
    with torch.no_grad():
        logits = [torch.cat(parts) for parts in zip(*(classifier(from_uint8(protocol.val.images[s:s + 256])) for s in range(0, protocol.n, 256)))]
    out = {}
    for (column, values), column_logits in zip(vocabulary.items(), logits):
        rows = [i for i in range(protocol.n) if protocol.val.attributes[i].get(column) in values]
        truth = torch.tensor([values.index(protocol.val.attributes[i][column]) for i in rows])
        out[column] = float((column_logits[rows].argmax(1) == truth).float().mean())
    return out


def classifier_guided(data: Labelled, studio: Studio, protocol: Protocol, steps: int = 60, batch: int = 32) -> torch.Tensor:
    path = CACHE / f"classifier-guided-{studio.space.id}-{steps}x{batch}.safetensors"
    if path.is_file():
        return load_file(str(path))["normals"]
    vocabulary = data.vocabulary
    classifier = train_classifier(protocol, vocabulary)
    print("attribute classifier accuracy on the real validation images: " + ", ".join(f"{c} {a:.3f} ({len(vocabulary[c])} values)"
                                                               for c, a in classifier_accuracy(classifier, protocol, vocabulary).items()), flush=True)
    space, dims = studio.space, studio.space.attribute_dims
    full = data.full_latents
    covariance = torch.cov(data.latents.T)
    heads = list(vocabulary)
    category_head = heads.index("articleType")
    normals = class_mean(data, studio)
    category_rows = data.columns("articleType")
    order = category_rows + [i for i in range(len(data.names)) if i not in category_rows]   # colour stays clear of the learned category normals
    generator = torch.Generator().manual_seed(0)
    for i in tqdm(order, desc="classifier-guided directions", mininterval=10):
        column, value = data.names[i].split("=", 1)
        head, k = heads.index(column), vocabulary[column].index(value)
        keep = normals[category_rows] if column == "baseColour" else None
        project = (lambda v: orthogonal_to(v, keep)) if keep is not None else (lambda v: F.normalize(v, dim=0))
        vector = project(normals[i]).clone().requires_grad_(True)
        optimizer = torch.optim.Adam([vector], lr=0.02)
        pool = (~data.members[i]).nonzero().squeeze(1)
        for _ in range(steps):
            rows = pool[torch.randint(len(pool), (batch,), generator=generator)]
            direction = project(vector)
            sigma = (direction @ covariance @ direction).sqrt()
            start = full[rows]
            shift = torch.zeros_like(start)
            shift[:, dims] = 2 * sigma * direction
            logits = classifier(space.generate(start + shift).float())
            loss = F.cross_entropy(logits[head], torch.full((batch,), k))
            if keep is not None:
                with torch.no_grad():
                    before = classifier(space.generate(start).float())[category_head].log_softmax(1)
                loss = loss + F.kl_div(logits[category_head].log_softmax(1), before, log_target=True, reduction="batchmean")
            (vector.grad,) = torch.autograd.grad(loss, vector)
            optimizer.step()
        normals[i] = project(vector.detach())
    with atomic_path(path) as tmp:
        save_file({"normals": normals.contiguous()}, str(tmp))
    return normals


RECIPES = {"shipped": None, "class-mean": class_mean, "sigma-half": sigma_half, "sigma": sigma, "label-head": label_head,
           "within-category": within_category, "category-free": category_free, "caption-swap": caption_swap,
           "gan-pairs": gan_pairs, "classifier-guided": classifier_guided}


def with_recipe(studio: Studio, data: Labelled, recipe, shipped_step: bool = False) -> Studio | None:
    """`studio` with its named directions drawn by `recipe` (None if the recipe does not apply to it);
    with `shipped_step`, a named slider's +1 moves as far as the shipped one's (its class gap)."""
    normals = recipe(data, studio)
    if normals is None:
        return None
    d = studio.directions
    named = len(data.names)
    full = torch.zeros(named, d.vectors.shape[1])
    full[:, studio.space.attribute_dims] = normals
    vectors = torch.cat([conditioned(full, data.names), d.vectors[named:]])
    sigma, unit = slider_scales(data.full_latents, vectors, data.members)
    if shipped_step:
        unit = torch.cat([d.unit[:named], unit[named:]])
    return Studio(studio.space, replace(d, vectors=vectors, sigma=sigma, unit=unit, classes=[], class_means=d.class_means[:0]))


def labelled_latents(studio: Studio, protocol: Protocol) -> Labelled:
    """The latents `python -m latent.directions` draws the shipped directions from (same items, same seed)."""
    latents, _, items = dataset_latents(studio.space, protocol.train, 12_000, 0)
    names = [n for n in studio.directions.names if "=" in n]
    members = [has_value(protocol.train, items, n) for n in names]
    vocabulary = protocol.train.vocabulary(HEAD_COLUMNS)
    attributes = [protocol.train.attributes[i] for i in items]
    return Labelled(latents[:, studio.space.attribute_dims], names, members, vocabulary, latents, attributes)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True)
    parser.add_argument("--vae", default=str(ROOT / "checkpoints" / "vae-fashion64"))
    parser.add_argument("--gan", default=str(ROOT / "checkpoints" / "gan-fashion64"))
    parser.add_argument("--models", nargs="+", default=["vae", "gan"], choices=["vae", "gan"])
    parser.add_argument("--recipes", nargs="+", default=list(RECIPES), choices=list(RECIPES))
    parser.add_argument("--starts", type=int, default=100, help="starting points per direction")
    parser.add_argument("--shipped-step", action="store_true", help="named sliders step as far as the shipped ones (changes only the +1 columns)")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "directions.json"))
    args = parser.parse_args(argv)
    protocol = Protocol(args.data)
    results = {}
    folders = {"vae": args.vae, "gan": args.gan}
    for model in args.models:
        studio = Studio.from_pretrained(folders[model], device="cpu")
        data = labelled_latents(studio, protocol)
        for name in args.recipes:
            recipe = {"classifier-guided": partial(classifier_guided, protocol=protocol),
                      "gan-pairs": partial(gan_pairs, gan=args.gan)}.get(name, RECIPES[name])
            edited = studio if name == "shipped" else with_recipe(studio, data, recipe, args.shipped_step)
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
