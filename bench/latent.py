"""Latent-space benchmark: VAE reconstruction, sample quality next to the GAN, slider directions, latency.

    python bench/latent.py --data ../shared/data/fashion-products \\
        --vae checkpoints/vae-fashion64 --gan checkpoints/gan-fashion64

Protocol (`core/evaluation.py` for the real set, features, Fréchet distance and probes):
- reconstruction: the 2,000 validation images → μ → decode; PSNR and SSIM (torchmetrics, pixels in
  [0, 1]) and Fréchet distance of the reconstructions; random samples: 2,000 VAE starts (seed i,
  the studio's sampler) and, for reference, 2,000 draws from the N(0, I) prior; the GAN: one image
  per validation caption (the generation benchmark's set);
- directions: for each named slider whose value a probe knows, `--starts` starting points (VAE:
  encoded validation images; GAN: seed i + validation caption i) whose label is another value of
  the column (the products a designer moves towards the value), moved by +2σ the way the slider
  moves each of them (from its own value's mean towards the slider's, `latent/directions.py`;
  σ: the data's standard deviation along that way; `--sigmas` moves further; "way_sigmas": the
  median length of the slider's +1 in those σ, so +2σ covers 2 / way_sigmas of it) and, separately,
  by the slider at +1;
  success = the probe's probability of that value goes up (per attribute with a 95 % interval,
  resampling the starts, so a rate a point from a target can be told from one that meets it). Also reported over the first
  `--starts` validation items whatever their label ("all starts", the earlier protocol: there a
  "Casual" slider is judged on products already 90 % Casual, a coin toss). Colour sliders also
  report how often the articleType probe's prediction stays the same, and, as a control, how often
  it does when each start moves as far along a random direction clear of the category boundaries
  (the category probe's own steadiness under a move that long). And what the probe itself
  allows (no model involved): each start's real photo against 8,000 real training photos the probes
  did not learn from that carry the value, of the start's category and of any, how often the value's
  probability is higher — the success rate of an edit that replaced the product by a real one;
- everyday photos (`--photos`, clothing-photos): the validation photos encoded as uploaded and as
  the studio encodes them (product put on white), each with and without fitting the latent
  (`VAESpace.fit`, the default), decoded; recognised = accuracy of a linear probe
  for their 10 classes (fitted on the training photos, both ways) on the decoded images; for the 64
  of `bench/checked-photos.txt`, PSNR and mean ΔE (CIE76) against the photo over its product
  (GrabCut's checked mask);
- latency (median, one process, batch 1): encode a 640×480 photo (put on white first; fitted, and
  not), one slider update (3 sliders
  set), one 8-frame morph; the baseline is one Generate-tab image from a new prompt (text encoding
  included) in the same process.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from PIL import Image  # noqa: E402

from bench.enhance import checked_photos  # noqa: E402
from bench.timing import median_ms  # noqa: E402
from core.data import ImageTextDataset  # noqa: E402
from core.evaluation import Protocol, cached_features  # noqa: E402
from core.images import load_image, prepare_square, to_tensor  # noqa: E402
from core.metrics import LinearProbe, colour_difference  # noqa: E402
from gan.generate import TextToProduct  # noqa: E402
from latent.space import FIT_STEPS  # noqa: E402
from latent.studio import WHITE_FRAME, Edit, Studio, on_white, white_frame  # noqa: E402


def reconstruction(studio: Studio, protocol: Protocol) -> dict:
    from torchmetrics.functional.image import peak_signal_noise_ratio, structural_similarity_index_measure

    real = protocol.val.images[:protocol.n]
    latents = torch.cat([studio.space.encode_pixels(real[i:i + 256]) for i in range(0, len(real), 256)])
    recon = torch.cat([studio.space.decode(latents[i:i + 256]) for i in range(0, len(latents), 256)])
    x, y = recon.float() / 255, real.float() / 255
    samples = torch.cat([studio.space.decode(torch.stack([studio.start(s).base for s in range(i, min(i + 256, protocol.n))]))
                         for i in range(0, protocol.n, 256)])
    prior = studio.space.decode(torch.randn(protocol.n, studio.space.latent_dim, generator=torch.Generator().manual_seed(0)))
    return {
        "psnr": float(peak_signal_noise_ratio(x, y, data_range=1.0)),
        "psnr_per_image_mean": float(torch.stack([peak_signal_noise_ratio(a, b, data_range=1.0) for a, b in zip(x, y)]).mean()),
        "ssim": float(structural_similarity_index_measure(x, y, data_range=1.0)),
        "fd_reconstruction": protocol.fd(cached_features(recon, "recon")),
        "fd_samples": protocol.fd(cached_features(samples, "samples")),
        "fd_prior_samples": protocol.fd(cached_features(prior, "samples")),
    }


def photo_set(folder: Path) -> list[tuple[Image.Image, str]]:
    """Everyday photos in class subfolders, each at most 256 px (what the segmenter works at), with its class."""
    data = ImageTextDataset(folder, 64, "all", progress=False)
    photos = []
    for record in data.records:
        photo = load_image(record.path)
        photo.thumbnail((256, 256))
        photos.append((photo, record.caption))
    return photos


def photo_encoding(studio: Studio, protocol: Protocol, photos_root: str) -> dict:
    """Encode → decode of everyday photos, as uploaded and as the studio encodes them by default
    (`Studio.encode`: the product put on white first). Recognised: a linear probe for the photos'
    10 classes, fitted on the training photos both as uploaded and put on white, reads the decoded
    validation photos. Faithful: PSNR and mean ΔE against the photo over its product (the checked
    GrabCut masks of `bench/checked-photos.txt`). Also how many of the catalog's own validation
    photos the studio would cut (a white frame leaves one as it is)."""
    from torchmetrics.functional.image import peak_signal_noise_ratio

    square = lambda image, fill=(255, 255, 255): to_tensor(prepare_square(image, studio.space.resolution, fill), torch.uint8)
    decoded = lambda photo, way: studio.pixels([studio.encode(photo, clean_background=way[0], fit_steps=way[1])])[0]
    encodings = {"as uploaded": (False, FIT_STEPS), "product on white": (True, FIT_STEPS),
                 "as uploaded, not fitted": (False, 0), "product on white, not fitted": (True, 0)}
    train, validation = photo_set(Path(photos_root) / "train"), photo_set(Path(photos_root) / "validation")
    labels, truth = [c for _, c in train] * 2, [c for _, c in validation]
    inputs = torch.stack([square(p) for p, _ in train] + [square(on_white(p)) for p, _ in train])
    probe = LinearProbe(sorted(set(labels))).fit(cached_features(inputs, "photos-train"), labels)
    out = {"photos": len(validation), "probe_ceiling": probe.accuracy(cached_features(torch.stack([square(p) for p, _ in validation]), "photos-val"), truth)}
    for name, way in encodings.items():
        out[name] = {"recognised": probe.accuracy(cached_features(torch.stack([decoded(p, way) for p, _ in validation]), "photos-decoded"), truth)}
    checked = checked_photos(str(Path(photos_root) / "validation"))
    for name, way in encodings.items():
        scores = []
        for photo, mask in checked:
            target, got = square(photo), decoded(photo, way)
            product = square(Image.fromarray(mask.astype("uint8") * 255).convert("RGB"), (0, 0, 0))[0] > 127
            scores.append((float(peak_signal_noise_ratio(got[:, product].float() / 255, target[:, product].float() / 255, data_range=1.0)),
                           colour_difference(got[:, product].T[None].numpy(), target[:, product].T[None].numpy())))
        out[name] |= {"product_psnr": sum(r[0] for r in scores) / len(scores), "product_delta_e": sum(r[1] for r in scores) / len(scores)}
    out["checked_photos"] = len(checked)
    catalog = [white_frame(load_image(record.path)) < WHITE_FRAME for record in protocol.val.records[:protocol.n]]
    return out | {"catalog_photos": len(catalog), "catalog_cut": sum(catalog)}


def starting_points(studio: Studio, protocol: Protocol, items: list[int]) -> list[Edit]:
    """Validation item i as a start: VAE, its encoded image; GAN, seed i + its caption."""
    if studio.space.can_encode:
        return [Edit(latent) for latent in studio.space.encode_pixels(protocol.val.images[items])]
    return [studio.start(i, protocol.captions[i] or "product") for i in items]


def lacking(protocol: Protocol, column: str, value: str, count: int) -> list[int]:
    """The first `count` validation items labelled with another value of `column`: the products a
    designer would move towards `value` (one already "Casual" cannot become visibly more casual)."""
    return [i for i in range(protocol.n) if protocol.val.attributes[i].get(column) not in (None, "", value)][:count]


def moved(studio: Studio, start: Edit, name: str, step: str, sigmas: float) -> Edit:
    """`start` moved by one named slider: `sigmas` σ the way the slider moves it (σ: the data's spread
    along that way; the issue's measure: 2), or the slider at +1."""
    if step == "slider_1":
        return start.with_sliders({name: 1.0})
    way = studio.directions.offset(start.base, name)
    return Edit(start.base + sigmas * studio.directions.spread(way) * F.normalize(way, dim=0))


def randomly_moved(studio: Studio, start: Edit, target: Edit, noise: torch.Generator) -> Edit:
    """`start` moved as far as `target` lies from it, along a random direction of the attribute
    coordinates clear of the category boundaries, as colour moves are: a control for how often the
    category probe keeps its verdict under any move of that length."""
    direction = torch.zeros_like(start.base)
    dims = studio.space.attribute_dims
    direction[dims] = torch.randn(direction[dims].shape, generator=noise)
    direction = F.normalize(studio.directions.clear_of_kept("baseColour", direction), dim=0)
    return Edit(start.base + float((studio.latent(target) - start.base).norm()) * direction)


def ceiling_pool(protocol: Protocol, size: int = 8000) -> tuple[list[int], torch.Tensor]:
    """`size` random training items the probes did not learn from, and their features."""
    seen = set(protocol.probe_items.tolist())
    order = torch.randperm(len(protocol.train), generator=torch.Generator().manual_seed(3)).tolist()
    items = sorted([i for i in order if i not in seen][:size])
    return items, torch.cat([cached_features(protocol.train.images[items[i:i + 1000]], "ceiling-pool") for i in range(0, len(items), 1000)])


def real_photo_ceiling(protocol: Protocol, judged: dict, pool: tuple[list[int], torch.Tensor]) -> dict:
    """Per named slider: over its starts' real photos, the share of real pool photos carrying the value
    (of the start's category, where at least 5 do; and of any) that the probe rates likelier to carry it."""
    items, features = pool
    codes: dict[str | None, int] = {}
    category = torch.tensor([codes.setdefault(protocol.train.attributes[i].get("articleType"), len(codes)) for i in items])
    per_direction = {}
    for name, (probe, without) in judged.items():
        column, value = name.split("=", 1)
        k = probe.classes.index(value)
        start_p = probe.model.probabilities(protocol.real[without])[:, k]
        pool_p = probe.model.probabilities(features)[:, k]
        carries = torch.tensor([protocol.train.attributes[i].get(column) == value for i in items])
        anywhere, same = [], []
        for item, p in zip(without, start_p):
            anywhere.append(float((pool_p[carries] > p).float().mean()))
            mine = carries & (category == codes.get(protocol.val.attributes[item].get("articleType"), -1))
            if column != "articleType" and int(mine.sum()) >= 5:
                same.append(float((pool_p[mine] > p).float().mean()))
        per_direction[name] = {"any_category": sum(anywhere) / len(anywhere), "same_category": sum(same) / len(same) if same else None,
                               "starts_same_category": len(same)}
    pooled = lambda rows: (sum(r["same_category"] * r["starts_same_category"] for r in rows if r["same_category"] is not None)
                           / max(1, sum(r["starts_same_category"] for r in rows)))  # "Formal" T-shirts barely exist: weigh by starts
    per_attribute = {column: {"any_category": mean(rows, "any_category"), "same_category": pooled(rows) if column != "articleType" else None}
                     for column, rows in by_column(per_direction).items()}
    return {"per_direction": per_direction, "per_attribute": per_attribute}


def judged_sliders(studio: Studio, protocol: Protocol, count: int) -> dict:
    """Named slider → (the probe of its column, the first `count` validation items without its value),
    for every named slider whose value a probe knows."""
    judged = {}
    for name in studio.directions.names:
        column, _, value = name.partition("=")
        probe = protocol.probes.get(column)
        if value and probe is not None and value in probe.classes:
            judged[name] = (probe, lacking(protocol, column, value, count))
    return judged


def directions(studio: Studio, protocol: Protocol, count: int, sigmas: float) -> dict:
    """Per named slider the probe knows: how often its probability goes up, over the first `count`
    validation items ("all") and over `count` items without the value (the edit a designer makes)."""
    judged = judged_sliders(studio, protocol, count)
    everyone = list(range(count))
    items = sorted(set(everyone).union(*(without for _, without in judged.values())))
    row_of = {item: row for row, item in enumerate(items)}
    starts = starting_points(studio, protocol, items)
    base_features = cached_features(studio.pixels(starts), "latent-start")
    category = protocol.probes["articleType"].model
    base_category = category.predict(base_features)
    out = {}
    noise = torch.Generator().manual_seed(0)
    for step in ("sigma", "slider_1"):
        per_direction = {}
        for name, (probe, without) in judged.items():
            column, value = name.split("=", 1)
            subset = sorted(set(everyone) | set(without))
            at = {item: j for j, item in enumerate(subset)}
            targets = {i: moved(studio, starts[row_of[i]], name, step, sigmas) for i in subset}
            moved_features = cached_features(studio.pixels([targets[i] for i in subset]), "latent-moved")
            k = probe.classes.index(value)
            before = probe.model.probabilities(base_features[[row_of[i] for i in subset]])[:, k]
            after = probe.model.probabilities(moved_features)[:, k]
            went_up = after > before
            raised = lambda group: float(went_up[[at[i] for i in group]].float().mean())
            rows = [at[i] for i in without]
            row = {"raised": raised(without), "raised_all": raised(everyone), "starts": len(without),
                   "p_before": float(before[rows].mean()), "p_after": float(after[rows].mean()),
                   "items": without, "raised_each": went_up[rows].int().tolist()}
            if step == "sigma":
                ways = [studio.directions.offset(starts[row_of[i]].base, name) for i in without]
                row["way_sigmas"] = float(torch.tensor([float(w.norm()) / studio.directions.spread(w) for w in ways]).median())
            if column == "baseColour":
                kept = lambda features: [int(base_category[row_of[i]] == c) for i, c in zip(without, category.predict(features))]
                aimless = [randomly_moved(studio, starts[row_of[i]], targets[i], noise) for i in without]
                row["category_kept_each"] = kept(moved_features[rows])
                row["category_kept_random_each"] = kept(cached_features(studio.pixels(aimless), "latent-moved"))
                for key in ("category_kept", "category_kept_random"):
                    row[key] = sum(row[f"{key}_each"]) / len(without)
            per_direction[name] = row
        out[step] = {"per_direction": per_direction, "per_attribute": per_attribute(per_direction)}
    return out


def by_column(per_direction: dict) -> dict[str, list[dict]]:
    """Rows of the named directions grouped by attribute column."""
    columns = {}
    for name, row in per_direction.items():
        columns.setdefault(name.split("=")[0], []).append(row)
    return columns


def mean(rows: list[dict], key: str) -> float | None:
    """Mean of `key` over the rows that have it (None if none does)."""
    values = [r[key] for r in rows if r.get(key) is not None]
    return sum(values) / len(values) if values else None


def bootstrap_interval(rows: list[dict], key: str, resamples: int = 2000) -> tuple[float, float]:
    """95 % interval of a column's rate (the mean over its sliders of each one's share of starts with
    `key`), resampling the starting products: a column's sliders share most of their starts, so
    treating every (slider, start) pair as independent would make the interval too narrow."""
    items = sorted({i for r in rows for i in r["items"]})
    column_of = {item: j for j, item in enumerate(items)}
    outcome, member = torch.zeros(len(rows), len(items)), torch.zeros(len(rows), len(items))
    for slider, r in enumerate(rows):
        at = [column_of[i] for i in r["items"]]
        outcome[slider, at], member[slider, at] = torch.tensor(r[key], dtype=torch.float), 1.0
    drawn = torch.randint(len(items), (resamples, len(items)), generator=torch.Generator().manual_seed(0))
    weights = torch.zeros(resamples, len(items)).scatter_add_(1, drawn, torch.ones_like(drawn, dtype=torch.float))
    rates = ((weights @ outcome.T) / (weights @ member.T).clamp_min(1e-9)).mean(1)
    low, high = torch.quantile(rates, torch.tensor([0.025, 0.975])).tolist()
    return low, high


def per_attribute(per_direction: dict) -> dict:
    """Rows of the named directions → one summary per attribute column, each rate with its 95 % interval."""
    summary = {}
    for column, rows in by_column(per_direction).items():
        rates = {key: mean(rows, key) for key in ("raised", "category_kept", "category_kept_random") if key in rows[0]}
        summary[column] = {"directions": len(rows), "raised_all": mean(rows, "raised_all"),
                           "directions_raising_80pct": sum(r["raised"] >= 0.8 for r in rows), **rates,
                           **{f"{key}_interval": bootstrap_interval(rows, f"{key}_each") for key in rates}}
    return summary


def latency(studio: Studio, baseline: TextToProduct) -> dict:
    photo = Image.new("RGB", (640, 480), (40, 80, 160))
    start = studio.start(0, "Men Blue Shirts")
    sliders = studio.default_sliders()[:3]
    other = studio.start(1, "Women Red Handbags")
    out = {
        "slider_update": median_ms(lambda r: studio.render(start.with_sliders({n: (r % 5 - 2) * 0.5 for n in sliders}))),
        "morph_8": median_ms(lambda r: studio.morph(start, other, 8), repeats=10),
        "generate_baseline": median_ms(lambda r: baseline.render([f"men blue shirt {r} {time.perf_counter_ns()}"], baseline.noise(r, 1))),
    }
    if studio.space.can_encode:
        out["encode"] = median_ms(lambda r: studio.encode(photo))
        out["encode_unfitted"] = median_ms(lambda r: studio.encode(photo, fit_steps=0))
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True)
    parser.add_argument("--vae", default=str(ROOT / "checkpoints" / "vae-fashion64"))
    parser.add_argument("--gan", default=str(ROOT / "checkpoints" / "gan-fashion64"))
    parser.add_argument("--real", type=int, default=2000)
    parser.add_argument("--starts", type=int, default=400, help="starting points per direction (100 before session 63)")
    parser.add_argument("--sigmas", type=float, default=2.0, help="how far the first direction measure moves, in σ (the issue's: 2)")
    parser.add_argument("--photos", help="everyday photos with train/ and validation/ class folders (clothing-photos): also measure encoding them")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "latent.json"))
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    protocol = Protocol(args.data, real=args.real)
    vae, gan = Studio.from_pretrained(args.vae, device="cpu"), Studio.from_pretrained(args.gan, device="cpu")
    baseline = TextToProduct.from_pretrained(args.gan, device="cpu")
    results = {"protocol": {"real": protocol.n, "floor_fd": protocol.floor_fd, "starts": args.starts, "step_sigma": args.sigmas}}
    print("reconstruction…", flush=True)
    results["vae"] = reconstruction(vae, protocol)
    if args.photos:
        print("photos…", flush=True)
        results["vae"]["photos"] = photo_encoding(vae, protocol, args.photos)
    results["gan"] = {"fd_samples": protocol.fd(cached_features(baseline.one_per_prompt(protocol.captions), "generated"))}
    pool = ceiling_pool(protocol)
    for name, studio in (("vae", vae), ("gan", gan)):
        print(f"{name}: directions…", flush=True)
        results[name]["directions"] = directions(studio, protocol, args.starts, args.sigmas)
        results[name]["directions"]["ceiling"] = real_photo_ceiling(protocol, judged_sliders(studio, protocol, args.starts), pool)
        results[name]["latency_ms"] = latency(studio, baseline)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2))
    print(render_table(results))


def render_table(results: dict) -> str:
    v, g = results["vae"], results["gan"]
    lines = [
        "| | VAE | GAN |", "|---|---|---|",
        f"| PSNR (dB, 2,000 val) | {v['psnr']:.2f} | — |",
        f"| SSIM | {v['ssim']:.3f} | — |",
        f"| FD reconstructions (floor {results['protocol']['floor_fd']:.2f}) | {v['fd_reconstruction']:.2f} | — |",
        f"| FD random samples | {v['fd_samples']:.2f} (prior N(0,I): {v['fd_prior_samples']:.2f}) | {g['fd_samples']:.2f} |",
    ]
    interval = lambda r, key: f"{r[key]:.0%} ({r[key + '_interval'][0]:.1%}–{r[key + '_interval'][1]:.1%})"
    cell = lambda r: (f"{interval(r, 'raised')} raised ({r['directions_raising_80pct']}/{r['directions']} sliders ≥ 80 %)"
                      + (f"; category kept {interval(r, 'category_kept')} (random move as long: {interval(r, 'category_kept_random')})" if "category_kept" in r else "")
                      + f"; all starts {r['raised_all']:.0%}") if r else "—"
    for step, label in (("sigma", f"+{results['protocol']['step_sigma']:g}σ"), ("slider_1", "slider +1")):
        vs, gs = v["directions"][step]["per_attribute"], g["directions"][step]["per_attribute"]
        for column in sorted(set(vs) | set(gs)):
            lines.append(f"| {label} {column} | {cell(vs.get(column))} | {cell(gs.get(column))} |")
    limit = lambda r: "—" if r is None else (f"{r['same_category']:.0%} same category / " if r["same_category"] is not None else "") + f"{r['any_category']:.0%} any"
    vc, gc = v["directions"]["ceiling"]["per_attribute"], g["directions"]["ceiling"]["per_attribute"]
    for column in sorted(set(vc) | set(gc)):
        lines.append(f"| real-photo ceiling {column}: the start's photo against real ones carrying the value | {limit(vc.get(column))} | {limit(gc.get(column))} |")
    if "photos" in v:
        p = v["photos"]
        for name in (n for n in ("as uploaded", "product on white", "as uploaded, not fitted", "product on white, not fitted") if n in p):
            lines += [f"| {p['photos']} everyday photos encoded {name}: class recognised in the decoded image (probe on the photos: {p['probe_ceiling']:.1%}) | {p[name]['recognised']:.1%} | — |",
                      f"| {p['checked_photos']} checked photos encoded {name}: PSNR / ΔE against the photo over its product | {p[name]['product_psnr']:.2f} dB / {p[name]['product_delta_e']:.2f} | — |"]
        lines.append(f"| catalog validation photos the studio would cut out | {p['catalog_cut']} of {p['catalog_photos']} | — |")
    for key, label in (("encode", "encode a photo"), ("encode_unfitted", "encode a photo, not fitted"), ("slider_update", "slider update"), ("morph_8", "8-frame morph"), ("generate_baseline", "baseline: Generate 1 image")):
        lines.append(f"| {label} (ms) | {v['latency_ms'].get(key, float('nan')):.1f} | {g['latency_ms'].get(key, float('nan')):.1f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
