"""Text → product images: the generation capability, usable without Gradio.

    from gan.generate import TextToProduct
    pipe = TextToProduct.from_pretrained("checkpoints/gan-fashion64")
    images = pipe("men's navy blue casual shirt", count=4, seed=7)   # list of PIL images

or from the shell: `python -m gan.generate "Women Red Handbag" --count 8 --seed 1 --out out/`.
Same prompt + seed (+ variety) gives the same pixels.
"""
from __future__ import annotations

import argparse
import re
import sys
from functools import lru_cache
from pathlib import Path

import torch
from PIL import Image

from core.checkpoints import CheckpointError, load_pretrained, read_json
from core.images import to_pil, to_tensor
from core.outputs import save_png, scratch_dir, to_uint8
from core.requests import is_number_between
from core.devices import inference_device
from enhance.upscale import MODES as UPSCALE_MODES, upscale as upscale_x4
from gan.model import ConditionalGenerator, DCGANGenerator

DEFAULT_MODEL = Path(__file__).resolve().parent.parent / "checkpoints" / "gan-fashion64"
MAX_COUNT = 16
MAX_PROMPT_CHARS = 2000
VARIETY_RANGE = (0.05, 2.0)
CANDIDATES = 4  # best-of-N reranking draws this many images per requested one
UNFAMILIAR = 1.5  # prompt_distance beyond which a description is unlike those the model learned (bench/prompts.py)


def sample_noise(n: int, dim: int, generator: torch.Generator, truncation: float | None = None) -> torch.Tensor:
    """Standard normal noise; with `truncation`, values beyond ±truncation are redrawn (BigGAN's trick:
    lower = more typical images, higher = more variety)."""
    z = torch.randn(n, dim, generator=generator)
    if truncation is not None:
        for _ in range(20):
            outside = z.abs() > truncation
            if not outside.any():
                break
            z = torch.where(outside, torch.randn(n, dim, generator=generator), z)
        z = z.clamp(-truncation, truncation)
    return z


class GenerationError(ValueError):
    """Bad request (empty prompt, count out of range…); the message is meant for the user."""


def tidy_prompt(prompt: str | None) -> str:
    """A description as every model reads it: stripped and cut at MAX_PROMPT_CHARS."""
    return (prompt or "").strip()[:MAX_PROMPT_CHARS]


def check_request(prompt: str | None, count, variety, upscale: str = "none") -> tuple[str, int, float]:
    if upscale not in ("none", *UPSCALE_MODES):
        raise GenerationError(f"upscale must be one of none, {', '.join(UPSCALE_MODES)}, got {upscale!r}")
    if isinstance(count, bool) or not isinstance(count, (int, float)) or not float(count).is_integer():
        raise GenerationError(f"count must be a whole number from 1 to {MAX_COUNT}, got {count!r}")
    count = int(count)
    if not 1 <= count <= MAX_COUNT:
        raise GenerationError(f"count must be from 1 to {MAX_COUNT}, got {count}")
    if not is_number_between(variety, *VARIETY_RANGE):
        raise GenerationError(f"variety must be a number from {VARIETY_RANGE[0]} to {VARIETY_RANGE[1]}, got {variety!r}")
    return tidy_prompt(prompt), count, float(variety)


def text_statistics(folder: Path, generator: torch.nn.Module) -> tuple[torch.Tensor, torch.Tensor] | None:
    """Mean and whitening matrix of the training descriptions' projected text (the text half of w), from the
    latent statistics the Sliders tab keeps beside the checkpoint; None without them, or if they are stale."""
    from latent.directions import FILE, Directions
    from latent.space import fingerprint

    if getattr(generator, "cond_embed", None) is None or not (folder / FILE).is_file():
        return None
    try:
        directions = Directions.load(folder)
    except CheckpointError:
        return None
    if directions.model_id != fingerprint(folder):
        return None
    rows = directions.scale[generator.config.noise_dim:]  # the text coordinates' covariance is rows @ rows.T
    return directions.mean[generator.config.noise_dim:], torch.linalg.inv(torch.linalg.cholesky(rows @ rows.T))


def check_prompt(prompt: str | None) -> str:
    """A description a text-conditional model can draw from: tidied, with a word in it."""
    prompt = tidy_prompt(prompt)
    if not any(c.isalpha() for c in prompt):
        raise GenerationError(f"type a description of the product in words, e.g. \"Women Red Handbag\"{f' (got {prompt!r})' if prompt else ''}")
    return prompt


class TextToProduct:
    """A shipped GAN checkpoint + the text encoder: prompt, count, seed → images."""

    def __init__(self, generator: torch.nn.Module, info: dict, name: str,
                 statistics: tuple[torch.Tensor, torch.Tensor] | None = None):
        self.generator, self.info, self.name, self.statistics = generator, info, name, statistics
        self.conditional = bool(info.get("conditional"))
        self.device = next(generator.parameters()).device

    @classmethod
    def from_pretrained(cls, folder: str | Path, device: str | torch.device | None = None) -> "TextToProduct":
        folder = Path(folder)
        try:
            info = read_json(folder / "atelier.json", {})
        except ValueError:
            raise CheckpointError(f"{folder}/atelier.json is damaged; restore it with `git checkout -- {folder}` or re-export the run") from None
        model_class = DCGANGenerator if info.get("arch") == "dcgan" else ConditionalGenerator
        generator = load_pretrained(model_class, folder, device or inference_device())
        return cls(generator, info, folder.name, text_statistics(folder, generator))

    @property
    def vocabulary(self) -> dict:
        return self.info.get("vocabulary", {})

    def prompt_distance(self, prompt: str) -> float | None:
        """How unlike the training descriptions `prompt` is to the generator: the Mahalanobis distance of its
        projected text from theirs, per √dimension (the catalog's own: median ~1, 99.9 % within UNFAMILIAR).
        None for an unconditional model or without the checkpoint's latent statistics."""
        if self.statistics is None or not self.conditional:
            return None
        from core.text import encode_text

        mean, whiten = self.statistics
        noise_dim = self.generator.config.noise_dim
        with torch.inference_mode():
            w = self.generator.mapping(torch.zeros(1, noise_dim, device=self.device), encode_text([prompt]).to(self.device))
        return float((whiten @ (w[0, noise_dim:].float().cpu() - mean)).norm()) / len(mean) ** 0.5

    def noise(self, seed: int, count: int, variety: float | None = 1.0) -> torch.Tensor:
        return sample_noise(count, self.generator.config.noise_dim, torch.Generator().manual_seed(int(seed) % 2**63), truncation=variety)

    @torch.inference_mode()
    def render(self, prompts: list[str] | None, noise: torch.Tensor) -> torch.Tensor:
        """Batch of prompts (ignored by unconditional models) + noise → uint8 images (N, 3, H, W)."""
        cond = None
        if self.conditional:
            from core.text import encode_text

            cond = encode_text(prompts).to(self.device)
        return to_uint8(self.generator(noise.to(self.device), cond))

    def __call__(self, prompt: str | None, count: int = 4, seed: int = 0, variety: float = 1.0,
                 rerank: bool = False, upscale: str = "none") -> list[Image.Image]:
        """`rerank`: draw CANDIDATES × count images and keep the `count` the matching model scores
        best against the prompt, best first (each image's score is in its `info`). `upscale`: "fast"
        or "quality" returns them ×4 (256 px for the shipped model) through `enhance.upscale`."""
        prompt, count, variety = check_request(prompt, count, variety, upscale)
        if self.conditional:
            prompt = check_prompt(prompt)
        seed = int(seed) % 2**63
        drawn = count * CANDIDATES if rerank else count
        pixels = self.render([prompt] * drawn, self.noise(seed, drawn, variety))
        order, scores = torch.arange(count), None
        if rerank:
            from match.score import load_matcher

            order, scores = load_matcher().rerank(prompt, pixels, count)
        out = []
        for rank, i in enumerate(order.tolist()):
            image = to_pil(pixels[i])
            if upscale != "none":
                image = upscale_x4(image, 4, upscale)
                image.info["upscaled"] = f"x4 {upscale}"
            image.info.update({"prompt": prompt, "seed": str(seed), "index": str(i), "variety": f"{variety:g}", "model": self.name})
            if scores is not None:
                image.info["match_score"] = f"{float(scores[rank]):.3f}"
            out.append(image)
        return out

    def one_per_prompt(self, prompts: list[str], rerank: bool = False, batch: int = 64, first_seed: int = 0,
                       variety: float | None = 1.0) -> torch.Tensor:
        """The evaluation protocol: image i is drawn for prompts[i] with seed first_seed + i (the best
        of CANDIDATES with `rerank`), as uint8 (N, 3, H, W); the same pixels as `self(prompts[i], 1, seed=first_seed + i,
        variety=variety)`. `variety=None` draws untruncated noise, as the model was trained (benchmarks only)."""
        if rerank:
            return torch.stack([to_tensor(self(p or "product", 1, seed=first_seed + i, variety=variety, rerank=True)[0], torch.uint8)
                                for i, p in enumerate(prompts)])
        out = []
        for start in range(0, len(prompts), batch):
            chunk = [p or "product" for p in prompts[start:start + batch]]
            out.append(self.render(chunk, torch.cat([self.noise(first_seed + start + i, 1, variety) for i in range(len(chunk))])))
        return torch.cat(out)


@lru_cache(maxsize=4)
def load_pipeline(folder: str | Path = DEFAULT_MODEL) -> TextToProduct:
    """The pipeline for a checkpoint folder, loaded once per process (text encoder included, so the
    first request is as fast as the next)."""
    pipe = TextToProduct.from_pretrained(folder)
    if pipe.conditional:
        from core.text import text_encoder

        text_encoder()
    return pipe


def describe_model(folder: str | Path = DEFAULT_MODEL) -> str:
    """Markdown for the UI: what the model knows (categories, colours), or what is missing and how to fix it."""
    try:
        pipe = load_pipeline(str(folder))
    except CheckpointError as e:
        return f"**No generator loaded.** {e}"
    vocab = pipe.vocabulary
    lines = [f"**Model** `{pipe.name}` — {'text-conditional' if pipe.conditional else 'unconditional'}, "
             f"{pipe.info.get('resolution', '?')} px, trained on {pipe.info.get('training', {}).get('images_seen', 0):,} images."]
    labels = {"articleType": "Categories", "baseColour": "Colours", "gender": "For", "class": "Classes"}
    for key, label in labels.items():
        if vocab.get(key):
            lines.append(f"**{label}:** {', '.join(vocab[key])}")
    return "\n\n".join(lines)


def prompt_note(prompt: str, model: str | Path = DEFAULT_MODEL) -> str | None:
    """A note for the user when the description is unlike any the model learned from (the pictures are
    then its nearest guess), else None (also for a checkpoint that is not a GAN)."""
    prompt = tidy_prompt(prompt)
    try:
        pipe = load_pipeline(str(model))
    except CheckpointError:
        return None
    distance = pipe.prompt_distance(prompt) if prompt else None
    if distance is None or distance <= UNFAMILIAR:
        return None
    known = pipe.vocabulary.get("articleType", [])[:8]
    return (f"\"{prompt[:60]}\" is unlike the descriptions {pipe.name} learned from"
            + (f" ({', '.join(known)} …)" if known else "") + ", so these pictures are only its nearest guess.")


def slug(text: str, limit: int = 40) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:limit] or "product"


def generate_files(prompt: str, count: int = 8, seed: int = 0, variety: float = 1.0,
                   model: str | Path = DEFAULT_MODEL, out_dir: str | Path | None = None, rerank: bool = False,
                   upscale: str = "none") -> list[tuple[str, str]]:
    """Generate and write PNGs (prompt, seed, model in their metadata); returns (path, caption) pairs."""
    pipe = load_pipeline(str(model))
    images = pipe(prompt, count, seed, variety, rerank, upscale)
    out_dir = Path(out_dir) if out_dir else scratch_dir()
    out_dir.mkdir(parents=True, exist_ok=True)
    name = slug(images[0].info["prompt"])
    out = []
    for i, image in enumerate(images):
        caption = f"seed {seed} · #{int(image.info['index']) + 1}" + (f" · match {image.info['match_score']}" if "match_score" in image.info else "")
        out.append((str(save_png(image, out_dir / f"{name}_seed{seed}_{i:02d}.png")), caption))
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description="Generate product images from a description.")
    parser.add_argument("prompt")
    parser.add_argument("--model", default="checkpoints/gan-fashion64")
    parser.add_argument("--count", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--variety", type=float, default=1.0)
    parser.add_argument("--out", default="generated")
    parser.add_argument("--rerank", action="store_true", help=f"draw {CANDIDATES}× as many and keep the best matches")
    parser.add_argument("--upscale", choices=["none", *UPSCALE_MODES], default="none", help="return the images ×4 (as Enhance's upscale modes)")
    args = parser.parse_args(argv)
    try:
        files = generate_files(args.prompt, args.count, args.seed, args.variety, args.model, args.out, args.rerank, args.upscale)
    except (GenerationError, CheckpointError) as e:
        parser.error(str(e))
    if note := prompt_note(args.prompt, args.model):
        print(f"note: {note}", file=sys.stderr)
    for path, _ in files:
        print(path)


if __name__ == "__main__":
    main()
