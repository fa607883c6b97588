"""The latent-space studio: start from a seed, a prompt (GAN) or a photo (VAE), move sliders, morph.

    from latent.studio import Studio
    studio = Studio.from_pretrained("checkpoints/vae-fashion64")
    edit = studio.encode("my_shirt.jpg").with_sliders({"baseColour=Red": 1.5, "PC 1": -1})
    studio.render(edit).save("red_shirt.png")
    frames = studio.morph(edit, studio.start(seed=7), frames=8)

An `Edit` is a base latent + slider values, each in its direction's unit (a named slider's +1 moves
by the gap between products with and without that value, a principal slider's by one standard
deviation of the data; see `latent/directions.py`). It round-trips through JSON so a designer can
share it; the JSON names the model it was made with and is refused, with a clear message, by any
other model.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

import torch
from PIL import Image

from core.checkpoints import CheckpointError
from core.images import ImageSource, frame_pixels, load_image, to_pil
from core.requests import is_number_between
from gan.generate import GenerationError, check_prompt, tidy_prompt
from latent.directions import Directions
from latent.space import FIT_STEPS, GANSpace, LatentError, LatentSpace, load_space

SLIDER_RANGE = (-3.0, 3.0)
MAX_SLIDERS = 12
NAMED_SHOWN = 6
MAX_FRAMES = 32
STATE_FORMAT = "atelier-latent-edit/1"
MAX_STATE_CHARS = 200_000
MAX_PHRASE_CHARS = 200
PHRASE_STEP = 0.25  # largest step of a "towards this phrase" move, in average principal σ
WHITE_FRAME = 0.6   # share of near-white pixels in a photo's outer 2 % above which it is taken as a catalog shot


def check_amount(amount) -> float:
    if not is_number_between(amount, *SLIDER_RANGE):
        raise LatentError(f"the phrase strength must be a number from {SLIDER_RANGE[0]:g} to {SLIDER_RANGE[1]:g}, got {amount!r}")
    return float(amount)


@dataclass(frozen=True)
class Edit:
    base: torch.Tensor                         # (latent_dim,)
    sliders: dict[str, float] = field(default_factory=dict)
    start: dict = field(default_factory=dict)  # how the base was made: {"seed": 3, "prompt": "…"} or {"image": "name"}
    phrase: str = ""                           # "towards this phrase": move along the match score's gradient …
    phrase_amount: float = 0.0                 # … by this many (average) standard deviations

    def with_sliders(self, sliders: dict[str, float]) -> "Edit":
        return replace(self, sliders=dict(sliders))

    def towards(self, phrase: str, amount: float) -> "Edit":
        return replace(self, phrase=(phrase or "").strip(), phrase_amount=amount)


class Studio:
    def __init__(self, space: LatentSpace, directions: Directions):
        self.space, self.directions = space, directions
        self._phrase_cache: dict = {}

    @classmethod
    def from_pretrained(cls, folder: str | Path, device=None) -> "Studio":
        space = load_space(folder, device)
        return cls(space, Directions.load(folder, space))

    @property
    def name(self) -> str:
        return self.space.name

    def default_sliders(self) -> list[str]:
        """Up to 12 sliders: named ones first (taking attribute columns in turn), then principal."""
        named = [n for n in self.directions.names if "=" in n]
        by_attribute: dict[str, list[str]] = {}
        for n in named:
            by_attribute.setdefault(n.split("=")[0], []).append(n)
        interleaved = [n for group in zip(*by_attribute.values()) for n in group] if by_attribute else []
        interleaved += [n for n in named if n not in interleaved]
        principal = [n for n in self.directions.names if "=" not in n]
        chosen = interleaved[:NAMED_SHOWN]
        return chosen + principal[:MAX_SLIDERS - len(chosen)]

    # --- where an edit starts --------------------------------------------------------------
    def start(self, seed: int = 0, prompt: str | None = None) -> Edit:
        """A random product: a GAN draws noise from the seed (and needs a prompt if text-conditional);
        a VAE draws from a Gaussian fitted to the latents of the training data."""
        seed = int(seed) % 2**63
        generator = torch.Generator().manual_seed(seed)
        if isinstance(self.space, GANSpace):
            noise = self.space.noise(1, generator)
            try:
                prompt = check_prompt(prompt) if self.space.conditional else tidy_prompt(prompt)
            except GenerationError as e:
                raise LatentError(str(e)) from None
            base = self.space.map(noise, [prompt] if self.space.conditional else None)[0]
            return Edit(base, {}, {"seed": seed, "prompt": prompt})
        d = self.directions
        base = d.mean + d.scale @ torch.randn(len(d.mean), generator=generator)
        return Edit(base, {}, {"seed": seed})

    def encode(self, image: ImageSource, name: str = "upload", clean_background: bool = True, fit_steps: int = FIT_STEPS) -> Edit:
        """A photo's latent; with `clean_background`, photos taken anywhere are first put on white
        like the catalog the VAE learned from (`on_white`); `fit_steps` (0: the encoder's guess
        alone, about 8× faster on a 640×480 photo) bring its decoding closer to the photo (`VAESpace.fit`)."""
        image = load_image(image)
        if clean_background and self.space.can_encode:
            image = on_white(image)
        return Edit(self.space.encode(image, fit_steps)[0], {}, {"image": name})

    # --- edits -----------------------------------------------------------------------------
    def check_sliders(self, sliders: dict) -> dict[str, float]:
        if not isinstance(sliders, dict):
            raise LatentError("sliders must be a mapping of direction name → value")
        out = {}
        for name, value in sliders.items():
            if name not in self.directions.names:
                raise LatentError(f"unknown slider {name!r} for {self.name}; known: {', '.join(self.directions.names)}")
            if not is_number_between(value):
                raise LatentError(f"slider {name!r} must be a finite number, got {value!r}")
            if not SLIDER_RANGE[0] <= value <= SLIDER_RANGE[1]:
                raise LatentError(f"slider {name!r} must be between {SLIDER_RANGE[0]:g} and {SLIDER_RANGE[1]:g}, got {value:g}")
            out[name] = float(value)
        return out

    def latent(self, edit: Edit) -> torch.Tensor:
        """base + Σ value × (where +1 on that slider moves the base) (+ amount × σ̄ × the phrase direction at the base)."""
        sliders = self.check_sliders(edit.sliders)
        latent = edit.base.clone().float()
        for name, value in sliders.items():
            latent += value * self.directions.offset(edit.base, name)
        if edit.phrase and edit.phrase_amount:
            latent += self.phrase_offset(edit.base, edit.phrase, check_amount(edit.phrase_amount))
        return latent

    def phrase_offset(self, base: torch.Tensor, phrase: str, amount: float) -> torch.Tensor:
        """Where "towards `phrase`" moves `base`: up the matching model's score of the decoded
        product, in steps of at most PHRASE_STEP σ along the normalised gradient (recomputed after
        each step, so long moves follow the score instead of overshooting: +2 "red"
        raised the score for 17 of 24 seeds of "Men White Tshirts" on the 345-minute GAN with
        half-σ steps, for 23 with quarter-σ ones). Cached per request."""
        if len(phrase) > MAX_PHRASE_CHARS:
            raise LatentError(f"the phrase is {len(phrase)} characters; keep it under {MAX_PHRASE_CHARS}")
        key = (hash(base.numpy().tobytes()), phrase, amount)
        if key not in self._phrase_cache:
            from match.score import load_matcher

            principal = [i for i, n in enumerate(self.directions.names) if "=" not in n]
            unit = float(self.directions.sigma[principal].mean())
            steps = max(1, math.ceil(abs(amount) / PHRASE_STEP))
            point = base.clone().float().unsqueeze(0).to(self.space.device)
            for _ in range(steps):
                point.requires_grad_(True)
                score = load_matcher().image_score(phrase, self.space.generate(point))
                (gradient,) = torch.autograd.grad(score.sum(), point)
                point = (point + amount / steps * unit * torch.nn.functional.normalize(gradient, dim=1)).detach()
            if len(self._phrase_cache) > 256:
                self._phrase_cache.clear()
            self._phrase_cache[key] = point[0].cpu() - base.float()
        return self._phrase_cache[key]

    def pixels(self, edits: list[Edit]) -> torch.Tensor:
        """uint8 (N, 3, H, W) images of several edits, decoded in one batch."""
        return self.space.decode(torch.stack([self.latent(e) for e in edits]))

    def render_many(self, edits: list[Edit]) -> list[Image.Image]:
        return [to_pil(p) for p in self.pixels(edits)]

    def render(self, edit: Edit) -> Image.Image:
        return self.render_many([edit])[0]

    def morph(self, a: Edit, b: Edit, frames: int = 8) -> list[Image.Image]:
        """`frames` images from A to B (both ends included), linear in the latent space."""
        if isinstance(frames, bool) or not isinstance(frames, (int, float)) or not float(frames).is_integer() or not 2 <= frames <= MAX_FRAMES:
            raise LatentError(f"frames must be a whole number from 2 to {MAX_FRAMES}, got {frames!r}")
        start, end = self.latent(a), self.latent(b)
        t = torch.linspace(0, 1, int(frames)).unsqueeze(1)
        pixels = self.space.decode(start + t * (end - start))
        return [to_pil(p) for p in pixels]

    # --- sharing ---------------------------------------------------------------------------
    def to_json(self, edit: Edit) -> str:
        return json.dumps({
            "format": STATE_FORMAT, "model": self.name, "model_id": self.space.id, "latent_dim": self.space.latent_dim,
            "start": edit.start, "sliders": self.check_sliders(edit.sliders),
            "phrase": edit.phrase, "phrase_amount": check_amount(edit.phrase_amount),
            "base": [float(v) for v in edit.base.float()],  # exact float32 values: a reopened edit gives the same pixels
        })

    def from_json(self, text: str) -> Edit:
        if not isinstance(text, str) or not text.strip():
            raise LatentError("the edit is empty; save one from the Sliders tab first")
        if len(text) > MAX_STATE_CHARS:
            raise LatentError(f"the edit is {len(text):,} characters; a saved edit is under {MAX_STATE_CHARS:,}")
        try:
            state = json.loads(text)
        except ValueError as e:
            raise LatentError(f"the edit is not valid JSON ({e.msg} at line {e.lineno})") from None
        if not isinstance(state, dict) or state.get("format") != STATE_FORMAT:
            raise LatentError(f"not an Atelier slider edit (expected \"format\": \"{STATE_FORMAT}\")")
        if state.get("model_id") != self.space.id:
            raise LatentError(f"this edit was made with model '{state.get('model')}' ({state.get('latent_dim')}-d latent), "
                              f"but the selected model is '{self.name}' ({self.space.latent_dim}-d); choose '{state.get('model')}' to open it")
        base = state.get("base")
        if not isinstance(base, list) or len(base) != self.space.latent_dim or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in base):
            raise LatentError(f"the edit's base latent must be a list of {self.space.latent_dim} numbers")
        base = torch.tensor(base, dtype=torch.float32)
        if not torch.isfinite(base).all():
            raise LatentError("the edit's base latent contains NaN or infinite values")
        start = state.get("start") if isinstance(state.get("start"), dict) else {}
        phrase = state.get("phrase") or ""
        if not isinstance(phrase, str) or len(phrase) > MAX_PHRASE_CHARS:
            raise LatentError(f"the edit's phrase must be text under {MAX_PHRASE_CHARS} characters")
        return Edit(base, self.check_sliders(state.get("sliders") or {}), start, phrase.strip(), check_amount(state.get("phrase_amount", 0.0)))


def white_frame(image: Image.Image, width: float = 0.02, level: int = 235) -> float:
    """Share of the pixels in the outer `width` of a photo whose channels are all at least `level`:
    at most 0.3 for the 341 held-out everyday photos; at least 0.6 for 1,966 of the catalog's 2,000
    validation photos (the others are products that fill much of the frame's edge)."""
    frame = frame_pixels(image, max(1, round(width * min(image.size))))
    return float((frame.min(1) >= level).mean())


def on_white(image: Image.Image) -> Image.Image:
    """A product photo as the VAE learned them: its product cut out onto white by the background
    segmenter. A photo whose frame is already white is a catalog shot and stays as it is (cutting
    could eat a white product on white); without a segmenter checkpoint every photo stays as it is."""
    if white_frame(image) >= WHITE_FRAME:
        return image
    from enhance.background import WORK_SIZE, remove_background

    small = image.copy()
    small.thumbnail((WORK_SIZE, WORK_SIZE))  # the VAE sees 64 px: no need to refine the mask at full size
    try:
        return remove_background(small, "white")
    except CheckpointError:
        return image


@lru_cache(maxsize=4)
def load_studio(folder: str | Path) -> Studio:
    """One Studio per checkpoint folder per process."""
    return Studio.from_pretrained(folder)


def save_gif(frames: list[Image.Image], path: str | Path, frame_ms: int = 150) -> Path:
    """An endlessly looping GIF that plays A → B → A."""
    path = Path(path)
    sequence = frames + frames[-2:0:-1]
    sequence[0].save(path, format="GIF", save_all=True, append_images=sequence[1:], duration=frame_ms, loop=0)
    return path


# --- helpers used by the app and the API (each returns what one UI event shows, images at 256 px) ---

CHECKPOINTS = Path(__file__).resolve().parent.parent / "checkpoints"


def available_models(root: str | Path = CHECKPOINTS) -> list[str]:
    """Names of checkpoint folders that have slider directions, GANs first: a GAN's first product is a
    sharp one made from the tab's description, a VAE's a blurry random blend (a photo upload switches
    to a model that can encode it)."""
    from core.checkpoints import read_json
    from latent.directions import FILE

    folders = [f for f in sorted(Path(root).glob("*")) if (f / FILE).is_file()]
    return [f.name for f in sorted(folders, key=lambda f: (read_json(f / "atelier.json", {}).get("kind") != "gan", f.name))]


def studio_for(model: str, root: str | Path = CHECKPOINTS) -> Studio:
    """The studio of a shipped model by folder name (requests can only name models that are offered)."""
    from latent.directions import FILE

    # every slider move lands here: check the one folder instead of listing (and reading) them all
    if not isinstance(model, str) or Path(model).name != model or not (Path(root) / model / FILE).is_file():
        names = available_models(root)
        raise LatentError(f"unknown model {model!r}; available: {', '.join(names) or 'none (compute directions first)'}")
    return load_studio(str(Path(root) / model))


DISPLAY_SIZE = 256


def display(image: Image.Image) -> Image.Image:
    """A 64-px model output enlarged for the screen (bicubic), so a product is not a thumbnail."""
    return image.resize((DISPLAY_SIZE, DISPLAY_SIZE), Image.Resampling.BICUBIC) if image.width < DISPLAY_SIZE else image


def slider_label(name: str) -> str:
    return f"{name.split('=', 1)[1]} ({name.split('=', 1)[0]})" if "=" in name else f"{name} (unnamed)"


def start_edit(model: str, seed: int = 0, prompt: str | None = None) -> tuple[Image.Image, str]:
    studio = studio_for(model)
    edit = studio.start(seed, prompt)
    return display(studio.render(edit)), studio.to_json(edit)


def encode_photo(model: str, image: ImageSource, name: str = "upload", clean_background: bool = True) -> tuple[Image.Image, str]:
    studio = studio_for(model)
    edit = studio.encode(image, name, clean_background)
    return display(studio.render(edit)), studio.to_json(edit)


def apply_sliders(model: str, edit_json: str, sliders: dict[str, float] | None = None,
                  phrase: str | None = None, phrase_amount: float | None = None) -> tuple[Image.Image, str]:
    """Render an edit; `sliders` (when given) replace the edit's slider values (zeros dropped), and
    `phrase`/`phrase_amount` (when given) its "towards this phrase" move."""
    studio = studio_for(model)
    edit = studio.from_json(edit_json)
    if sliders is not None:
        edit = edit.with_sliders({k: v for k, v in sliders.items() if v != 0})
    if phrase is not None:
        edit = edit.towards(phrase, phrase_amount or 0.0)
    return display(studio.render(edit)), studio.to_json(edit)


def morph_files(model: str, edit_a: str, edit_b: str, frames: int, out_dir: str | Path) -> tuple[list[str], str]:
    """Frames A → B as PNGs plus a looping GIF, written to `out_dir`; returns (frame paths, gif path)."""
    studio = studio_for(model)
    images = [display(im) for im in studio.morph(studio.from_json(edit_a), studio.from_json(edit_b), frames)]
    out_dir = Path(out_dir)
    paths = []
    for i, image in enumerate(images):
        image.save(out_dir / f"morph_{i:02d}.png")
        paths.append(str(out_dir / f"morph_{i:02d}.png"))
    return paths, str(save_gif(images, out_dir / "morph.gif"))
