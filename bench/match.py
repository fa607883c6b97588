"""Matching-model benchmark: retrieval next to chance and a zero-training baseline, and what best-of-N
reranking does to Generate.

    python bench/match.py --data ../shared/data/fashion-products \\
        --model checkpoints/match-fashion --gan checkpoints/gan-fashion64

Protocol (`core/evaluation.py` for the real set, 224-px features, Fréchet distance and probes):
- retrieval: the first 2,000 validation (caption, image) pairs; text→image R@1/5/10 (the true image
  among 2,000 candidates) and image→text R@1; chance is k/2,000; the baseline maps raw MiniLM
  embeddings to the raw EfficientNet features (same input size as the model) with a least-squares
  linear map fitted on all training pairs and ranks by cosine;
- reranking: one image per validation caption (seed = its index), as in the generation
  benchmark, against the best of 4 candidates by match score; articleType/baseColour probe
  accuracy and Fréchet distance of both sets; latency of `TextToProduct(prompt, count=8)` with and
  without reranking (median of 20 new prompts, text encoding included), and of the whole
  `generate_files` call (what the Generate tab runs, PNGs included);
- what reranking could gain at most: from the same 4 candidates per caption, the one the probe itself
  rates most likely to carry the caption's true label (per column) — no scorer of those candidates
  can do better — and the one an independent judge (its own classifiers, other training images,
  96 px) rates most likely to carry all the caption's true labels; a gap between the two is the
  probe's own errors, not something a reranker can learn (`best_picks`);
- with `--sweep K`, how far best-of-N goes as N grows: K candidates per validation caption, and for
  N = 1, 2, 4 … K the match score's pick among the first N next to the probe's own pick (slow: the
  224-px features of K × 2,000 images, about 25 minutes for K = 16 here; cached after).
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

from bench.timing import median_ms  # noqa: E402
from core.evaluation import Protocol, attribute_probes, cached_features  # noqa: E402
from core.text import caption_embeddings  # noqa: E402
from gan.generate import CANDIDATES, TextToProduct, generate_files  # noqa: E402
from match.score import Matcher  # noqa: E402

JUDGE_ITEMS, JUDGE_SIZE = 12_000, 96


def recall_at(scores: torch.Tensor, ks=(1, 5, 10)) -> dict:
    """scores (N queries, N candidates) with the true match on the diagonal."""
    rank = (scores > scores.diagonal().unsqueeze(1)).sum(1)  # how many candidates beat the true one
    return {f"R@{k}": float((rank < k).float().mean()) for k in ks}


def retrieval(matcher: Matcher, protocol: Protocol) -> dict:
    size = matcher.heads.config.image_size
    val_text = caption_embeddings(protocol.captions)
    val_images = cached_features(protocol.val.images[:protocol.n], "val", size=size)
    with torch.inference_mode():
        scores = matcher.heads(val_text, val_images).float()
    ours = {**{f"t2i_{k}": v for k, v in recall_at(scores).items()}, "i2t_R@1": recall_at(scores.T, (1,))["R@1"]}

    train_captions = [c or "" for c in protocol.train.captions]
    train_text = caption_embeddings(train_captions, ROOT / "bench" / ".cache")
    train_images = cached_features(protocol.train.images, "train", size=size)
    linear_map = torch.linalg.lstsq(train_text, train_images).solution
    baseline_scores = F.normalize(val_text @ linear_map, dim=1) @ F.normalize(val_images, dim=1).T
    baseline = {**{f"t2i_{k}": v for k, v in recall_at(baseline_scores).items()}, "i2t_R@1": recall_at(baseline_scores.T, (1,))["R@1"]}
    chance = {"t2i_R@1": 1 / protocol.n, "t2i_R@5": 5 / protocol.n, "t2i_R@10": 10 / protocol.n, "i2t_R@1": 1 / protocol.n}
    return {"ours": ours, "least_squares_baseline": baseline, "chance": chance}


def reranking(pipe: TextToProduct, gan_folder: str, protocol: Protocol) -> dict:
    out = {}
    for name, rerank in (("off", False), ("best_of_4", True)):
        features = cached_features(pipe.one_per_prompt(protocol.captions, rerank), "generated" if not rerank else "reranked")
        row = {"fd": protocol.fd(features)}
        for column in ("articleType", "baseColour"):
            probe = protocol.probes[column]
            row[f"acc_{column}"] = probe.model.accuracy(features[probe.rows], probe.labels)
        prompt = lambda i: f"men blue casual shirt {i} {time.perf_counter_ns()}"  # a new prompt each call: no cache hits
        row["ms_generate_8"] = median_ms(lambda i: pipe(prompt(i), 8, seed=0, rerank=rerank))
        row["ms_generate_files_8"] = median_ms(lambda i: generate_files(prompt(i), 8, 0, model=gan_folder, rerank=rerank))
        out[name] = row
    out["best_picks"] = best_picks(pipe, protocol)
    return out


def best_picks(pipe: TextToProduct, protocol: Protocol) -> dict:
    """What reranking the same candidates could gain at most, judged two ways. Per validation caption,
    the 4 candidates best-of-4 draws; pick
    - per column, the one the benchmark's probe finds most likely to carry the caption's true label: an
      upper bound, but it also exploits the probe's own errors on near-identical candidates;
    - the one an independent judge finds most likely to carry all of the caption's true labels: its own
      linear classifiers on 96-px features of JUDGE_ITEMS training images the probes do not use — a
      scorer that knows what the user meant, without the probe's quirks."""
    drawn = torch.cat([pipe.render([p or "product"] * CANDIDATES, pipe.noise(i, CANDIDATES)) for i, p in enumerate(protocol.captions)])
    features = cached_features(drawn, "candidates").view(protocol.n, CANDIDATES, -1)
    out = {"probe": {f"acc_{column}": probe_pick_accuracy(probe, features) for column, probe in protocol.probes.items()}, "judge": {}}

    probe_items = set(protocol.probe_items.tolist())
    items = [i for i in torch.randperm(len(protocol.train), generator=torch.Generator().manual_seed(5)).tolist() if i not in probe_items][:JUDGE_ITEMS]
    judges = attribute_probes(protocol.train, items, cached_features(protocol.train.images[items], "judge", size=JUDGE_SIZE))
    judged = cached_features(drawn, "candidates", size=JUDGE_SIZE)
    log_likelihood = torch.zeros(protocol.n, CANDIDATES)
    for column, judge in judges.items():
        log_p = judge.probabilities(judged).clamp_min(1e-6).log().view(protocol.n, CANDIDATES, -1)
        for i in range(protocol.n):
            label = protocol.val.attributes[i].get(column)
            if label in judge.index:
                log_likelihood[i] += log_p[i, :, judge.index[label]]
    picked = features[torch.arange(protocol.n), log_likelihood.argmax(1)]
    out["judge"]["fd"] = protocol.fd(picked)
    for column, probe in protocol.probes.items():
        out["judge"][f"acc_{column}"] = probe.model.accuracy(picked[probe.rows], probe.labels)
    return out


def probe_pick_accuracy(probe, features: torch.Tensor) -> float:
    """The probe's accuracy on, per caption, the candidate it rates likeliest to carry the caption's
    true label; `features` (captions, candidates, d). No scorer of the same candidates can do better."""
    candidates = features[probe.rows]
    rows = torch.arange(len(candidates))
    true = torch.tensor([probe.model.index[label] for label in probe.labels])
    likelihood = probe.model.probabilities(candidates.flatten(0, 1)).view(*candidates.shape[:2], -1)[rows, :, true]
    return probe.model.accuracy(candidates[rows, likelihood.argmax(1)], probe.labels)


def candidate_sweep(pipe: TextToProduct, matcher: Matcher, protocol: Protocol, most: int) -> dict:
    """Per N in 1, 2, 4 … `most`: probe accuracy of the match score's pick among the first N of `most`
    candidates per caption, and of the probe's own pick (per column) among the same N."""
    drawn = torch.cat([pipe.render([p or "product"] * most, pipe.noise(i, most)) for i, p in enumerate(protocol.captions)])
    with torch.inference_mode():
        image_features = torch.cat([matcher.image_features(drawn[i:i + 1024]) for i in range(0, len(drawn), 1024)])
        text_features = caption_embeddings([p or "product" for p in protocol.captions])
        scores = torch.stack([matcher.heads(text_features[i:i + 1], image_features[i * most:(i + 1) * most])[0] for i in range(protocol.n)])
    features = cached_features(drawn, f"candidates{most}").view(protocol.n, most, -1)
    out = {}
    for n in [2 ** k for k in range(most.bit_length()) if 2 ** k <= most]:
        picked = features[torch.arange(protocol.n), scores[:, :n].argmax(1)]
        row = {}
        for column, probe in protocol.probes.items():
            row[f"match_{column}"] = probe.model.accuracy(picked[probe.rows], probe.labels)
            row[f"probe_{column}"] = probe_pick_accuracy(probe, features[:, :n])
        out[n] = row
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True)
    parser.add_argument("--model", default=str(ROOT / "checkpoints" / "match-fashion"))
    parser.add_argument("--gan", default=str(ROOT / "checkpoints" / "gan-fashion64"))
    parser.add_argument("--real", type=int, default=2000)
    parser.add_argument("--sweep", type=int, default=0, metavar="K", help="also measure best-of-N for N = 1, 2, 4 … K (slow)")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "match.json"))
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    protocol = Protocol(args.data, real=args.real)
    matcher = Matcher.from_pretrained(args.model)
    results = {"pairs": protocol.n, "retrieval": retrieval(matcher, protocol)}
    print("reranking…", flush=True)
    pipe = TextToProduct.from_pretrained(args.gan, device="cpu")
    results["reranking"] = reranking(pipe, args.gan, protocol)
    if args.sweep:
        print("sweep…", flush=True)
        results["sweep"] = candidate_sweep(pipe, matcher, protocol, args.sweep)
    results["ceiling"] = {c: protocol.probes[c].ceiling for c in ("articleType", "baseColour")}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2))
    print(render_table(results))


def render_table(r: dict) -> str:
    lines = [f"Retrieval on {r['pairs']} validation pairs", "| | t→i R@1 | t→i R@5 | t→i R@10 | i→t R@1 |", "|---|---|---|---|---|"]
    for name, row in r["retrieval"].items():
        lines.append(f"| {name} | {row['t2i_R@1']:.3f} | {row['t2i_R@5']:.3f} | {row['t2i_R@10']:.3f} | {row['i2t_R@1']:.3f} |")
    lines += ["", "Best-of-N reranking in Generate", "| | FD ↓ | articleType acc | baseColour acc | ms, 8 images | ms, Generate call (PNGs) |", "|---|---|---|---|---|---|"]
    for name in ("off", "best_of_4"):
        row = r["reranking"][name]
        lines.append(f"| {name} | {row['fd']:.2f} | {row['acc_articleType']:.3f} | {row['acc_baseColour']:.3f} | {row['ms_generate_8']:.1f} | {row['ms_generate_files_8']:.1f} |")
    probe, judge = r["reranking"]["best_picks"]["probe"], r["reranking"]["best_picks"]["judge"]
    lines.append(f"| upper bound: the probe picks (per column) | | {probe['acc_articleType']:.3f} | {probe['acc_baseColour']:.3f} | | |")
    lines.append(f"| an independent judge that knows the true labels picks | {judge['fd']:.2f} | {judge['acc_articleType']:.3f} | {judge['acc_baseColour']:.3f} | | |")
    off, on = r["reranking"]["off"], r["reranking"]["best_of_4"]
    lines.append(f"accuracy gain: articleType {100 * (on['acc_articleType'] - off['acc_articleType']):+.1f} points, "
                 f"baseColour {100 * (on['acc_baseColour'] - off['acc_baseColour']):+.1f} points; latency ×{on['ms_generate_8'] / off['ms_generate_8']:.2f} "
                 f"(Generate call ×{on['ms_generate_files_8'] / off['ms_generate_files_8']:.2f})")
    if "sweep" in r:
        columns = ("articleType", "baseColour", "gender", "usage")
        lines += ["", "Best-of-N as N grows (probe accuracy of the pick: " + " / ".join(columns) + ")",
                  "| N | match score picks | the probe picks (upper bound) |", "|---|---|---|"]
        for n, row in r["sweep"].items():
            lines.append(f"| {n} | " + " / ".join(f"{row[f'match_{c}']:.3f}" for c in columns) + " | "
                         + " / ".join(f"{row[f'probe_{c}']:.3f}" for c in columns) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
