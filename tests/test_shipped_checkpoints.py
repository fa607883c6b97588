"""What every shipped folder under checkpoints/ promises: loadable without pickles, small enough for
a Space and for git history, with a model card."""
from __future__ import annotations

import json

import pytest
from safetensors import safe_open

from conftest import ROOT

FOLDERS = sorted(p.parent for p in (ROOT / "checkpoints").rglob("config.json"))
MAX_FILE_BYTES = 25 * 2 ** 20


def test_there_are_shipped_models():
    assert len(FOLDERS) >= 8, FOLDERS


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda p: str(p.relative_to(ROOT / "checkpoints")))
def test_shipped_folder_is_safetensors_fp16_small_and_has_a_card(folder):
    files = [p for p in folder.iterdir() if p.is_file()]
    assert {p.suffix for p in files} <= {".json", ".md", ".safetensors"}, files  # no pickles, no stray files
    assert all(p.stat().st_size < MAX_FILE_BYTES for p in files), [(p.name, p.stat().st_size) for p in files]
    assert (folder / "README.md").read_text(encoding="utf-8").strip()
    assert json.loads((folder / "config.json").read_text(encoding="utf-8"))["_class_name"]
    with safe_open(str(folder / "diffusion_pytorch_model.safetensors"), framework="pt") as weights:
        dtypes = {weights.get_slice(name).get_dtype() for name in weights.keys()}
    assert "F32" not in dtypes and "F16" in dtypes, dtypes
