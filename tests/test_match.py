"""The matching model, best-of-N reranking and the evaluation command, on tiny fixtures."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch

from conftest import ROOT, SHIPPED_GAN, make_metadata_folder

ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1", "ATELIER_CACHE": os.environ.get("ATELIER_CACHE", "/tmp/atelier-test-cache")}


def run(*args, check=True):
    result = subprocess.run([sys.executable, *map(str, args)], capture_output=True, text=True, timeout=600, env=ENV, cwd=ROOT)
    if check and result.returncode != 0:
        raise AssertionError(result.stderr[-3000:])
    return result


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("match")
    folder = make_metadata_folder(root / "catalog", n_per_colour=8)
    run(ROOT / "train.py", "match", "--data", folder, "--out", root / "run", "--max-steps", "60", "--batch-size", "16",
        "--image-size", "64", "--val-fraction", "0", "--log-every", "10")
    return folder, root / "run" / "export"


def test_scores_are_cosines_and_prefer_the_true_caption(trained):
    from core.data import ImageTextDataset
    from match.score import Matcher

    folder, export = trained
    data = ImageTextDataset(folder, 64, "all", progress=False)
    matcher = Matcher.from_pretrained(export)
    scores = matcher.score(data.captions, data.images)
    assert scores.shape == (32, 32) and scores.min() >= -1 and scores.max() <= 1
    true = scores.diagonal()
    shuffled = scores[torch.arange(32), (torch.arange(32) + 8) % 32]  # the caption of another colour
    assert (true > shuffled).float().mean() >= 0.9


def test_rerank_returns_the_requested_count_best_first():
    from gan.generate import TextToProduct

    pipe = TextToProduct.from_pretrained(SHIPPED_GAN, device="cpu")
    images = pipe("Women Red Handbag", count=5, seed=3, rerank=True)
    scores = [float(im.info["match_score"]) for im in images]
    assert len(images) == 5 and scores == sorted(scores, reverse=True)
    assert all(-1 <= s <= 1 for s in scores)
    again = pipe("Women Red Handbag", count=5, seed=3, rerank=True)
    assert [im.tobytes() for im in images] == [im.tobytes() for im in again]


def test_evaluate_generator_writes_the_documented_report(tmp_path):
    folder = make_metadata_folder(tmp_path / "catalog", n_per_colour=30)
    out = tmp_path / "report"
    run(ROOT / "evaluate.py", "generator", SHIPPED_GAN, "--data", folder, "--count", "40", "--out", out)
    report = json.loads((out / "report.json").read_text())
    assert {"fd", "kid_mean", "kid_std", "precision", "recall", "match_score", "probe_accuracy", "probe_ceiling", "images", "checkpoint", "kind"} <= report.keys()
    assert 0 <= report["precision"] <= 1 and 0 <= report["recall"] <= 1 and -1 <= report["match_score"] <= 1
    assert "baseColour" in report["probe_accuracy"]
    assert (out / "report.md").read_text().startswith("# Evaluation") and (out / "samples.png").is_file()


def test_evaluate_enhancement_reports_psnr_against_the_baseline(tmp_path):
    sr = ROOT / "checkpoints" / "sr-photos"
    if not (sr / "config.json").is_file():
        pytest.skip("sr checkpoint not shipped yet")
    from PIL import Image

    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(3):
        Image.effect_mandelbrot((300, 300), (-2 + i * 0.1, -1.5, 1, 1.5), 100).convert("RGB").save(photos / f"{i}.png")
    out = tmp_path / "report"
    run(ROOT / "evaluate.py", "enhancement", sr, "--photos", photos, "--out", out)
    report = json.loads((out / "report.json").read_text())
    assert report["kind"] == "sr" and report["images"] == 3 and {"psnr", "ssim"} <= report.keys() and "psnr" in report["baseline"]


@pytest.mark.parametrize("case, message", [
    ("empty_folder", "no usable images"), ("wrong_kind", "not a generator"), ("blank_prompts", "no prompts"), ("not_a_checkpoint", "no config.json"),
])
def test_evaluate_bad_inputs_give_clear_messages(tmp_path, case, message):
    (tmp_path / "empty").mkdir()
    (tmp_path / "prompts.txt").write_text("\n   \n\n")
    folder = make_metadata_folder(tmp_path / "catalog", n_per_colour=30)
    args = {
        "empty_folder": ["generator", SHIPPED_GAN, "--data", tmp_path / "empty"],
        "wrong_kind": ["generator", ROOT / "checkpoints" / "vae-fashion64", "--data", folder],
        "blank_prompts": ["generator", SHIPPED_GAN, "--data", folder, "--prompts", tmp_path / "prompts.txt", "--count", "10"],
        "not_a_checkpoint": ["enhancement", tmp_path / "empty", "--photos", folder],
    }[case]
    result = run(ROOT / "evaluate.py", *args, "--out", tmp_path / "out", check=False)
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr
