"""Does Generate tell an unfamiliar description from a shop's? `TextToProduct.prompt_distance` against a
baseline rule, on three sets of descriptions:

    python bench/prompts.py --data ../shared/data/fashion-products

- the catalog's own: every validation caption (none of them trained on; each should pass);
- shop descriptions written here, in a merchandiser's words rather than the catalog's (should pass);
- everyday phrases that describe no fashion product, and gibberish (should be noted).

The baseline reads the text alone: the largest cosine between the description's MiniLM embedding and
the model's category names, its threshold set to note as many catalog captions as ours does. Ours
reads the text as the generator does (its projected text, whitened by the training descriptions'
spread, as stored for the Sliders tab).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.data import ImageTextDataset  # noqa: E402
from core.text import encode_text  # noqa: E402
from gan.generate import UNFAMILIAR, TextToProduct  # noqa: E402

SHOP = ["men's navy blue casual shirt", "Women Red Handbag", "white sports shoes", "black leather belt", "kids pink sandals",
        "blue denim jeans", "green kurta for women", "silver watch", "sunglasses", "brown wallet", "yellow t-shirt", "grey hoodie",
        "formal black heels", "floral summer dress", "running shoes", "backpack for school", "red saree", "men's briefs", "purple top",
        "navy blue polo", "striped cotton shirt for men", "women's gold earrings", "black leather jacket", "boys blue shorts",
        "girls pink dress", "maroon kurti", "white sneakers", "aviator sunglasses", "analog watch with steel strap", "lipstick",
        "nail polish red", "perfume for men", "woolen cap", "checked formal shirt", "slim fit trousers", "ankle socks", "sports bra",
        "leather flip flops", "canvas tote bag", "denim jacket"]
UNRELATED = ["a spaceship on mars", "qwertyuiop", "the quick brown fox jumps over the lazy dog", "asdf asdf", "a bowl of ramen",
             "a photo of my cat", "how do I reset my password", "mountain landscape at sunset", "a red sports car", "delete all files",
             "laptop computer", "a glass of wine", "hello", "xyz", "lorem ipsum dolor sit amet", "an elephant", "tax return 2024",
             "the history of the roman empire", "a kitchen table", "quantum physics", "weather forecast for tomorrow",
             "a dog playing fetch", "pizza with extra cheese", "skyscraper in new york", "an oil painting of a ship",
             "electric guitar", "a smartphone", "office chair", "bicycle", "banana", "please help me", "select * from users",
             "sunflower field", "a cup of coffee", "rocket launch", "the meaning of life", "a wooden house", "snowy mountains",
             "a tennis racket", "a sofa"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True)
    parser.add_argument("--gan", default=str(ROOT / "checkpoints" / "gan-fashion64"))
    args = parser.parse_args(argv)
    pipe = TextToProduct.from_pretrained(args.gan, device="cpu")
    if pipe.statistics is None:
        parser.error(f"{args.gan} has no current directions.safetensors; compute it with `python -m latent.directions {args.gan} --data DIR`")
    catalog = [c for c in ImageTextDataset(args.data, 64, "validation").captions if c]
    sets = {"catalog captions (validation)": catalog, "shop descriptions": SHOP, "unrelated phrases": UNRELATED}

    ours = {name: torch.tensor([pipe.prompt_distance(t) for t in texts]) for name, texts in sets.items()}
    names = F.normalize(encode_text(pipe.vocabulary["articleType"]), dim=1)
    closeness = {name: (F.normalize(encode_text(texts), dim=1) @ names.T).max(1).values for name, texts in sets.items()}
    noted_catalog = (ours["catalog captions (validation)"] > UNFAMILIAR).float().mean()
    baseline_threshold = float(torch.quantile(closeness["catalog captions (validation)"], noted_catalog.clamp_min(1e-4)))

    print(f"| noted as unfamiliar | ours: prompt_distance > {UNFAMILIAR} | baseline: category-name cosine < {baseline_threshold:.3f} |")
    print("|---|---|---|")
    for name, texts in sets.items():
        a, b = int((ours[name] > UNFAMILIAR).sum()), int((closeness[name] < baseline_threshold).sum())
        print(f"| {name} | {a} of {len(texts)} ({100 * a / len(texts):.1f} %) | {b} of {len(texts)} ({100 * b / len(texts):.1f} %) |")
    for name in ("shop descriptions", "unrelated phrases"):
        wrong = [t for t, d in zip(sets[name], ours[name].tolist()) if (d > UNFAMILIAR) != (name == "unrelated phrases")]
        print(f"ours wrong on {name}: {', '.join(repr(t) for t in wrong) or 'none'}")
    quantiles = torch.quantile(ours["catalog captions (validation)"], torch.tensor([0.5, 0.99, 0.999]))
    print("prompt_distance of the catalog captions, median / 99 % / 99.9 % / max: "
          + " / ".join(f"{q:.3f}" for q in quantiles.tolist()) + f" / {ours['catalog captions (validation)'].max():.3f}")


if __name__ == "__main__":
    main()
