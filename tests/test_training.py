"""train.py end to end on tiny folders: dry run, bad folders, exact resume after a kill,
export → load round trip through safetensors, and a two-process Accelerate (gloo) run."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
import torch

from conftest import COLOURS, ROOT, make_class_folder, make_metadata_folder
from core.checkpoints import CheckpointError, load_pretrained, load_training_state
from core.data import ImageTextDataset
from core.outputs import from_uint8
from core.text import encode_text
from gan.generate import TextToProduct
from gan.model import ConditionalGenerator, MinibatchStd, NearestUpsampleConv, ProjectionDiscriminator
from core.training import class_labels
from gan.augment import ADA_IMAGES, adapted_probability, diff_augment, mirrored
from gan.training import layout_loss, mode_seeking_loss

FAST = ["--batch-size", "4", "--sample-every", "1000", "--log-every", "1"]
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}


def run_train(*args, check=True, timeout=300):
    result = subprocess.run([sys.executable, str(ROOT / "train.py"), *map(str, args)], capture_output=True,
                            text=True, timeout=timeout, env=ENV, cwd=ROOT)
    if check and result.returncode != 0:
        raise AssertionError(result.stderr[-3000:])
    return result


def test_dry_run_reports_folder_summary(metadata_folder):
    (metadata_folder / "images" / "broken.jpg").write_bytes(b"\xff\xd8 not really")
    with open(metadata_folder / "metadata.csv", "a") as f:
        f.write("images/broken.jpg,broken shirt,Men,Apparel,Topwear\n")
    out = run_train("gan", "--data", metadata_folder, "--out", metadata_folder / "run", "--dry-run", "--val-fraction", "0")
    summary = json.loads(out.stdout[out.stdout.index("{"):])
    assert summary["images"] == 17 and summary["decoded_train"] == 16 and summary["unreadable"] == 1
    assert summary["caption_coverage"] == 1.0
    assert any("broken.jpg" in s for s in summary["skipped_examples"])
    assert not (metadata_folder / "run" / "state.safetensors").exists()


def test_folder_without_usable_images_exits_with_its_name(tmp_path):
    folder = tmp_path / "my-photos"
    folder.mkdir()
    (folder / "readme.txt").write_text("nothing here")
    out = run_train("gan", "--data", folder, "--out", tmp_path / "run", "--max-steps", "1", check=False)
    assert out.returncode == 2
    assert "my-photos" in out.stderr and "no usable images" in out.stderr and "Traceback" not in out.stderr


def test_existing_run_needs_resume(metadata_folder, tmp_path):
    run_train("gan", "--data", metadata_folder, "--out", tmp_path / "r", "--max-steps", "1", *FAST)
    out = run_train("gan", "--data", metadata_folder, "--out", tmp_path / "r", "--max-steps", "2", *FAST, check=False)
    assert out.returncode == 2 and "--resume" in out.stderr


def _states_equal(a, b, path="state"):
    """Every tensor and number of two training states (models, EMA, optimizers, step) is identical."""
    if isinstance(a, torch.Tensor):
        assert torch.equal(a, b), f"{path} differs"
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for k in a:
            _states_equal(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            _states_equal(x, y, f"{path}[{i}]")
    elif path.split(".")[-1] != "elapsed":  # wall-clock time is the one thing that may differ
        assert a == b, f"{path}: {a} != {b}"


@pytest.mark.parametrize("model", ["gan", "gan-ada", "vae", "sr", "tone", "style", "segment"])
def test_killed_run_resumes_exactly(model, metadata_folder, tmp_path):
    steps = 8
    model, _, variant = model.partition("-")
    extra = {"ada": ["--augment", "translation", "--ada-target", "0.6", "--mirror"],  # the augmentation probability is state too
             "sr": ["--resolution", "64", "--crop", "32"], "tone": ["--resolution", "64", "--crop", "64"],
             "style": ["--resolution", "64", "--crop", "32", "--styles", metadata_folder],
             "segment": ["--resolution", "64", "--crop", "64", "--backgrounds", metadata_folder, "--photo-fraction", "0.5"]}.get(variant or model, [])
    common = [model, "--data", metadata_folder, "--checkpoint-every", "2", *FAST, *extra]
    run_train(*common, "--out", tmp_path / "straight", "--max-steps", steps)

    killed = tmp_path / "killed"
    process = subprocess.Popen([sys.executable, str(ROOT / "train.py"), *map(str, common), "--out", str(killed),
                                "--max-steps", "100000"], env=ENV, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    while not (killed / "state.safetensors").exists() and time.time() < deadline:
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    interrupted_at = load_training_state(killed / "state.safetensors")["step"]
    assert 2 <= interrupted_at < steps

    out = run_train(*common, "--out", killed, "--max-steps", steps, "--resume")
    assert f"resumed {killed} at step {interrupted_at}" in out.stdout
    straight, resumed = load_training_state(tmp_path / "straight" / "state.safetensors"), load_training_state(killed / "state.safetensors")
    gan_state = {"G", "D", "G_ema", "opt_G", "opt_D"} | ({"augment_p"} if variant else set())
    assert set(straight["task"]) == (gan_state if model == "gan" else {"model", "optimizer"})
    assert resumed["step"] == steps
    _states_equal(straight, resumed)
    lines = [json.loads(line) for line in (killed / "metrics.jsonl").read_text().splitlines()]
    assert lines[-1]["step"] == steps


def test_enhance_model_fine_tunes_from_a_shipped_one(metadata_folder, tmp_path):
    from enhance.models import Segmenter

    shipped = ROOT / "checkpoints" / "segment-products"
    common = ["segment", "--data", metadata_folder, "--backgrounds", metadata_folder, "--resolution", "64", "--crop", "64", *FAST]
    out = run_train(*common, "--out", tmp_path / "a", "--init-from", shipped, "--max-steps", "0")
    assert f"--init-from {shipped}: Segmenter weights" in out.stdout
    exported, source = load_pretrained(Segmenter, tmp_path / "a" / "export"), load_pretrained(Segmenter, shipped)
    assert all(torch.equal(a, b) for a, b in zip(exported.state_dict().values(), source.state_dict().values()))
    wrong = run_train(*common, "--out", tmp_path / "b", "--init-from", ROOT / "checkpoints" / "tone-photos", "--max-steps", "1", check=False)
    assert wrong.returncode == 2 and "holds a ToneEstimator, not a Segmenter" in wrong.stderr and "Traceback" not in wrong.stderr

    start = shutil.copytree(shipped, tmp_path / "start")
    blend = (*common, "--out", tmp_path / "c", "--init-from", start, "--lr", "1e-2", "--export-blend", "0.25")
    run_train(*blend, "--max-steps", "1")
    shutil.rmtree(start)  # a resumed run blends with the weights it started from, kept in its checkpoint
    run_train(*blend, "--max-steps", "2", "--resume")
    trained = load_training_state(tmp_path / "c" / "state.safetensors")["task"]["model"]
    blended = load_pretrained(Segmenter, tmp_path / "c" / "export").state_dict()
    moved = 0
    for name, initial in source.state_dict().items():
        if initial.is_floating_point():
            expected = 0.75 * initial + 0.25 * trained[name].float()
            assert torch.allclose(blended[name], expected, rtol=2e-3, atol=1e-4), name
            moved += not torch.allclose(blended[name], initial, rtol=2e-3, atol=1e-4)
    assert moved > 0  # the run changed the weights, so the test tells a blend from either end
    assert "--export-blend" in (tmp_path / "c" / "export" / "README.md").read_text()
    alone = run_train(*common, "--out", tmp_path / "d", "--max-steps", "1", "--export-blend", "0.5", check=False)
    assert alone.returncode == 2 and "needs --init-from" in alone.stderr
    unblended = (*common, "--out", tmp_path / "e", "--init-from", shipped)
    run_train(*unblended, "--max-steps", "1")
    late = run_train(*unblended, "--max-steps", "2", "--export-blend", "0.5", "--resume", check=False)
    assert late.returncode == 2 and "kept none" in late.stderr and "Traceback" not in late.stderr


def test_bf16_run_resumes_in_full_precision(metadata_folder, tmp_path):
    """A run started where bf16 autocast is the default (an AMX CPU, a recent GPU) continues on a machine without it."""
    run = tmp_path / "r"
    run_train("gan", "--data", metadata_folder, "--out", run, "--max-steps", "2", "--mixed-precision", "bf16", *FAST)
    assert json.loads((run / "options.json").read_text())["hardware"].endswith("bf16 autocast")
    out = run_train("gan", "--data", metadata_folder, "--out", run, "--max-steps", "4", "--mixed-precision", "no", "--resume", *FAST)
    assert f"resumed {run} at step 2" in out.stdout
    state = load_training_state(run / "state.safetensors")
    assert state["step"] == 4
    assert all(t.dtype == torch.float32 for t in state["task"]["G"].values() if t.is_floating_point())
    assert json.loads((run / "options.json").read_text())["hardware"].endswith("fp32")


def test_export_loads_through_safetensors_and_generates(metadata_folder, tmp_path):
    run_train("gan", "--data", metadata_folder, "--out", tmp_path / "r", "--max-steps", "2", *FAST)
    export = tmp_path / "r" / "export"
    names = {p.name for p in export.iterdir()}
    assert {"config.json", "diffusion_pytorch_model.safetensors", "README.md", "atelier.json"} <= names
    assert not any(n.endswith((".bin", ".pt", ".pth", ".ckpt")) for n in names)
    umask = os.umask(0o022)
    os.umask(umask)
    for written in [*export.rglob("*.safetensors"), tmp_path / "r" / "state.safetensors"]:  # safetensors alone writes 0600
        assert written.stat().st_mode & 0o777 == 0o666 & ~umask, written
    trained = load_training_state(tmp_path / "r" / "state.safetensors")["task"]["G_ema"]
    model = load_pretrained(ConditionalGenerator, export)
    for name, tensor in model.state_dict().items():  # fp16 on disk, float32 in memory
        assert torch.allclose(tensor.float(), trained[name].float(), atol=2e-3, rtol=2e-3), name
    pipe = TextToProduct.from_pretrained(export, device="cpu")
    assert pipe.conditional and pipe.vocabulary["baseColour"]
    images = pipe("red cotton shirt", count=3, seed=1)
    assert len(images) == 3 and images[0].size == (64, 64)
    card = (export / "README.md").read_text()
    assert "python train.py gan" in card and "Reproduce" in card


def test_standing_statistics_fit_the_exported_generators_batchnorm_to_its_weights(metadata_folder, tmp_path):
    run_train("gan", "--data", metadata_folder, "--out", tmp_path / "r", "--max-steps", "3", "--standing-stats", "16", *FAST)
    exported = load_pretrained(ConditionalGenerator, tmp_path / "r" / "export")
    copied = ConditionalGenerator.from_config(exported.config)  # the averaged generator with the live one's statistics
    copied.load_state_dict(load_training_state(tmp_path / "r" / "state.safetensors")["task"]["G_ema"])
    for (name, a), b in zip(exported.named_parameters(), copied.parameters()):  # the weights are the averaged ones
        assert torch.allclose(a, b, atol=2e-3, rtol=2e-3), name
    noise = torch.randn(256, exported.config.noise_dim, generator=torch.Generator().manual_seed(5))

    def miscalibration(G):  # the stem's BatchNorm statistics against its inputs' on fresh samples
        with torch.no_grad():
            w = G.mapping(noise, encode_text([f"{colour} cotton shirt" for colour in COLOURS] * (len(noise) // len(COLOURS))))
            stem = G.stem(w).view(len(w), -1, 4, 4)
        norm = G.stem_norm.norm
        mean, var = stem.mean(dim=(0, 2, 3)), stem.var(dim=(0, 2, 3), unbiased=False)
        return ((mean - norm.running_mean).abs() + (var - norm.running_var).abs()).mean().item()

    assert miscalibration(exported) < miscalibration(copied) / 3
    assert "BatchNorm statistics were recomputed" in (tmp_path / "r" / "export" / "README.md").read_text()
    refused = run_train("gan", "--arch", "dcgan", "--data", metadata_folder, "--out", tmp_path / "d", "--max-steps", "1",
                        "--standing-stats", "4", check=False)
    assert refused.returncode == 2 and "--standing-stats" in refused.stderr and "Traceback" not in refused.stderr


def test_fine_tuning_starts_from_an_exported_generator(metadata_folder, flat_folder, tmp_path):
    run_train("gan", "--data", metadata_folder, "--out", tmp_path / "a", "--max-steps", "2", *FAST)
    export = tmp_path / "a" / "export"
    source = dict(load_pretrained(ConditionalGenerator, export).named_parameters())
    exported_D = dict(load_pretrained(ProjectionDiscriminator, export / "discriminator").named_parameters())
    run = tmp_path / "b"
    # another seed: a discriminator that started new would not be the export's
    fine_tune = ("gan", "--data", metadata_folder, "--out", run, "--init-from", export, "--d-warmup-steps", "2", "--seed", "1", *FAST)
    assert "--init-from" in run_train(*fine_tune, "--max-steps", "2").stdout
    state = load_training_state(run / "state.safetensors")["task"]
    for name, weight in source.items():  # while the discriminator warms up, G and its EMA stay the export
        assert torch.equal(state["G"][name], weight) and torch.equal(state["G_ema"][name], weight), name
    for name, weight in exported_D.items():  # D continues from the exported one: two small Adam steps away
        assert (state["D"][name] - weight).abs().max() < 5e-3, name
    shutil.rmtree(export)  # a resumed run has its own generator: the folder it started from may be gone
    run_train(*fine_tune, "--max-steps", "3", "--resume")
    moved = load_training_state(run / "state.safetensors")["task"]["G"]
    assert any(not torch.equal(moved[name], weight) for name, weight in source.items())
    assert "Started from" in (run / "export" / "README.md").read_text()  # the card tells where the weights came from
    run_train("gan", "--data", flat_folder, "--out", tmp_path / "unconditional", "--max-steps", "1", *FAST)
    other = run_train("gan", "--data", metadata_folder, "--out", tmp_path / "c", "--init-from", tmp_path / "unconditional" / "export",
                      "--max-steps", "1", *FAST, check=False)
    assert other.returncode == 2 and "--init-from" in other.stderr and "cond_dim" in other.stderr and "Traceback" not in other.stderr


def test_fine_tuning_with_other_classes_keeps_the_discriminator_but_not_its_heads(metadata_folder, tmp_path):
    run_train("gan", "--data", metadata_folder, "--out", tmp_path / "a", "--max-steps", "1", "--classify", "gender", *FAST)
    export = tmp_path / "a" / "export"
    assert json.loads((export / "discriminator" / "classes.json").read_text())["gender"]
    exported = dict(load_pretrained(ProjectionDiscriminator, export / "discriminator").named_parameters())
    result = run_train("gan", "--data", metadata_folder, "--out", tmp_path / "b", "--init-from", export, "--classify", "baseColour",
                       "--d-warmup-steps", "1", "--seed", "1", "--max-steps", "1", *FAST)
    assert "new classifier heads" in result.stdout
    D = load_training_state(tmp_path / "b" / "state.safetensors")["task"]["D"]
    assert (D["score.weight"] - exported["score.weight"]).abs().max() < 5e-3
    assert D["classifier.weight"].shape[0] != exported["classifier.weight"].shape[0]


def test_mode_seeking_rewards_seeds_that_differ_and_trains_with_odd_batches(metadata_folder, tmp_path):
    images, noise_a, noise_b = torch.zeros(4, 3, 8, 8), torch.zeros(4, 16), torch.ones(4, 16)
    assert mode_seeking_loss(images, images + 0.5, noise_a, noise_b) < mode_seeking_loss(images, images + 0.01, noise_a, noise_b)
    run = tmp_path / "r"
    run_train("gan", "--data", metadata_folder, "--out", run, "--max-steps", "2", "--mode-seeking", "0.1",
              "--batch-size", "5", "--sample-every", "1000", "--log-every", "1")
    state = load_training_state(run / "state.safetensors")
    assert state["step"] == 2 and all(torch.isfinite(t).all() for t in state["task"]["G"].values() if t.is_floating_point())


def test_nearest_upsampling_is_upsample_then_3x3_conv():
    """`--upsample nearest` runs as a folded 4×4 transposed conv; it must compute what it says, gradients included."""
    torch.manual_seed(0)
    folded = NearestUpsampleConv(5, 7, bias=True).double()
    plain = torch.nn.Sequential(torch.nn.Upsample(scale_factor=2, mode="nearest"), torch.nn.Conv2d(5, 7, 3, padding=1)).double()
    plain[1].load_state_dict(folded.state_dict())
    x = torch.randn(3, 5, 6, 9, dtype=torch.double, requires_grad=True)
    y, y_plain = folded(x), plain(x)
    assert y.shape == (3, 7, 12, 18) and torch.allclose(y, y_plain)
    g = torch.randn_like(y)
    for ours, theirs in zip(torch.autograd.grad(y, (x, folded.weight, folded.bias), g),
                            torch.autograd.grad(y_plain, (x, plain[1].weight, plain[1].bias), g)):
        assert torch.allclose(ours, theirs)


def test_minibatch_std_appends_the_spread_within_each_group():
    x = torch.randn(8, 3, 4, 4)
    out = MinibatchStd(group=4)(x)
    expected = x.view(4, 2, 3, 4, 4).std(dim=0, unbiased=False).mean(dim=(1, 2, 3))  # one value per member of a group
    assert out.shape == (8, 4, 4, 4) and torch.equal(out[:, :3], x)
    assert torch.allclose(out[:, 3], expected.repeat(4).view(8, 1, 1).expand(8, 4, 4), atol=1e-6)


def test_layout_loss_reads_the_coarse_picture_not_the_detail(metadata_folder, tmp_path):
    grey = torch.zeros(2, 3, 64, 64)
    stripes = torch.ones(64, 64).index_fill_(0, torch.arange(0, 64, 2), -1).expand(2, 3, 64, 64)  # one-pixel stripes average to grey
    darker_left = grey.clone()
    darker_left[..., :32] = -1
    assert layout_loss(stripes, grey) < 1e-6 < 0.4 < layout_loss(darker_left, grey)
    run = tmp_path / "r"
    run_train("gan", "--data", metadata_folder, "--out", run, "--max-steps", "2", "--upsample", "nearest", "--layout-l1", "3",
              "--mode-seeking", "0.1", *FAST)
    pipe = TextToProduct.from_pretrained(run / "export", device="cpu")
    assert pipe.generator.config.upsample == "nearest"
    assert [image.size for image in pipe("red cotton shirt", count=2, seed=0)] == [(64, 64)] * 2
    with pytest.raises(ValueError, match="choose one of transposed, nearest"):
        ConditionalGenerator(upsample="bilinear")
    result = run_train("gan", "--arch", "dcgan", "--data", metadata_folder, "--out", tmp_path / "bad", "--upsample", "nearest",
                       "--max-steps", "1", *FAST, check=False)
    assert result.returncode == 2 and "dcgan" in result.stderr and "Traceback" not in result.stderr


def test_classifier_heads_learn_the_metadata_column_from_real_images(metadata_folder, tmp_path):
    data = ImageTextDataset(metadata_folder, 64, "train", val_fraction=0.0)
    labels, names = class_labels(data, ["baseColour", "gender"])
    classes = [len(column) for column in names.values()]
    assert classes == [len(set(a["baseColour"] for a in data.attributes)), 2]
    run = tmp_path / "r"
    run_train("gan", "--data", metadata_folder, "--out", run, "--max-steps", "40", "--classify", "baseColour",
              "--classify-weight", "1", "--val-fraction", "0", "--batch-size", "8", "--sample-every", "1000", "--log-every", "1")
    D = ProjectionDiscriminator(cond_dim=384, classes=(classes[0],))
    D.load_state_dict(load_training_state(run / "state.safetensors")["task"]["D"])
    with torch.no_grad():
        _, logits = D.train()(from_uint8(data.images), torch.zeros(len(data), 384), classify=True)
    accuracy = (logits.argmax(1) == labels[:, 0]).float().mean()
    assert accuracy > 2 / classes[0], accuracy  # chance is 1 / classes
    logged = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert logged[-1]["cls_real"] < logged[0]["cls_real"]
    # the heads are part of the discriminator: a resume without them is refused, not crashed
    resumed = run_train("gan", "--data", metadata_folder, "--out", run, "--max-steps", "41", "--resume", *FAST, check=False)
    assert resumed.returncode == 2 and "classify" in resumed.stderr


def test_mismatch_teaches_the_discriminator_which_text_belongs_to_an_image(metadata_folder, tmp_path):
    data = ImageTextDataset(metadata_folder, 64, "train", val_fraction=0.0)
    own = encode_text(data.captions)
    other_colour = own[torch.roll(torch.arange(len(own)), len(own) // len(COLOURS))]  # the fixture lists 4 items per colour
    real = from_uint8(data.images)
    under_other = {}
    for weight in ("0", "1"):  # the same seed and steps, without and with the term
        run = tmp_path / f"r{weight}"
        run_train("gan", "--data", metadata_folder, "--out", run, "--max-steps", "40", "--mismatch", weight,
                  "--val-fraction", "0", "--batch-size", "8", "--sample-every", "1000", "--log-every", "1")
        D = ProjectionDiscriminator(cond_dim=384)
        D.load_state_dict(load_training_state(run / "state.safetensors")["task"]["D"])
        with torch.no_grad():
            scores, under_other[weight] = D.train()(real, own, other_cond=other_colour)
            assert torch.allclose(under_other[weight], D(real, other_colour), atol=1e-5)  # one pass, same scores
            assert (scores > under_other[weight]).all()  # its own text scores higher (even without the term)
    # a real image under another colour's text is called fake more often and more firmly (on two machines:
    # 12–13 of these 16 without the term, 15–16 with it; mean score −1.2 against −2.8 on one of them)
    assert (under_other["1"] < 0).sum() > (under_other["0"] < 0).sum() and (under_other["1"] < 0).sum() >= 15
    assert under_other["1"].mean() < under_other["0"].mean() - 0.5
    assert "mismatch" in json.loads((tmp_path / "r1" / "metrics.jsonl").read_text().splitlines()[-1])


def test_classify_with_a_column_the_data_lacks_is_refused(metadata_folder, tmp_path):
    result = run_train("gan", "--data", metadata_folder, "--out", tmp_path / "r", "--max-steps", "1",
                       "--classify", "season", *FAST, check=False)
    assert result.returncode == 2 and "no column season" in result.stderr


def test_vae_trains_exports_and_encodes(metadata_folder, tmp_path):
    from latent.studio import Studio
    from latent.directions import compute_directions
    from latent.space import load_space
    from core.data import ImageTextDataset

    out = run_train("vae", "--data", metadata_folder, "--out", tmp_path / "r", "--max-steps", "3", "--val-fraction", "0",
                    "--perceptual-weight", "0.02", *FAST)
    assert "vae on cpu" in out.stdout
    export = tmp_path / "r" / "export"
    card = (export / "README.md").read_text()
    assert "python train.py vae" in card and "KL" in card
    metrics = [json.loads(line) for line in (tmp_path / "r" / "metrics.jsonl").read_text().splitlines()]
    assert {"mse", "psnr", "kl", "perceptual"} <= metrics[-1].keys()
    space = load_space(export, "cpu")
    assert space.perceptual_weight == 0.02  # a photo's latent is fitted against the loss this decoder learned with
    data = ImageTextDataset(metadata_folder, 64, "all", progress=False)
    directions = compute_directions(space, data, principal=4, min_count=2)
    assert "baseColour=Red" in directions.names and "PC 4" in directions.names
    directions.save(export)
    studio = Studio.from_pretrained(export, device="cpu")
    edit = studio.encode(metadata_folder / "images" / "red0.jpg").with_sliders({"baseColour=Red": 1.0})
    assert studio.render(edit).size == (64, 64)


def test_vae_classify_head_lays_each_value_along_a_line_of_the_latent(metadata_folder, tmp_path):
    from vae.model import VAE

    data = ImageTextDataset(metadata_folder, 64, "train", val_fraction=0.0)
    labels, names = class_labels(data, ["baseColour"])
    classes = [len(column) for column in names.values()]
    run = tmp_path / "r"
    run_train("vae", "--data", metadata_folder, "--out", run, "--max-steps", "30", "--classify", "baseColour",
              "--classify-weight", "1", "--val-fraction", "0", "--batch-size", "8", "--sample-every", "1000", "--log-every", "1")
    logged = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert logged[-1]["classify"] < logged[0]["classify"]
    vae = VAE.from_pretrained(run / "export").eval()  # the head ships with the model and loads from safetensors
    assert vae.config.classes == classes
    with torch.no_grad():
        accuracy = (vae.classifier(vae.encode(from_uint8(data.images))[0]).argmax(1) == labels[:, 0]).float().mean()
    assert accuracy > 2 / classes[0], accuracy  # linear in μ, above twice chance


def test_resume_with_another_model_kind_is_refused(metadata_folder, tmp_path):
    run_train("vae", "--data", metadata_folder, "--out", tmp_path / "r", "--max-steps", "1", *FAST)
    out = run_train("gan", "--data", metadata_folder, "--out", tmp_path / "r", "--max-steps", "2", "--resume", *FAST, check=False)
    assert out.returncode == 2 and "'model': ('vae', 'gan')" in out.stderr


def test_resume_with_a_new_learning_rate_fine_tunes_at_that_rate():
    from accelerate import Accelerator
    from core.training import SingleModelTask

    first = SingleModelTask(torch.nn.Linear(3, 1), lr=1e-3, accelerator=Accelerator(cpu=True))
    first.optimize(first.model(torch.ones(2, 3)).square().sum())
    resumed = SingleModelTask(torch.nn.Linear(3, 1), lr=1e-4, accelerator=Accelerator(cpu=True))
    resumed.load_state_dict(first.state_dict())
    assert [g["lr"] for g in resumed.optimizer.param_groups] == [1e-4]
    moments = lambda task: next(iter(task.optimizer.state_dict()["state"].values()))["exp_avg"]
    assert torch.equal(moments(resumed), moments(first))   # Adam's moments carry over, only the rate changes


@pytest.mark.parametrize("model", ["gan", "vae"])
def test_lr_decay_lowers_the_learning_rates_linearly_over_the_end_of_the_budget(model, metadata_folder, tmp_path):
    run = tmp_path / "r"
    rates = {"gan": ["--lr-g", "4e-4", "--lr-d", "2e-4"], "vae": ["--lr", "3e-4"]}[model]
    run_train(model, "--data", metadata_folder, "--out", run, "--max-steps", "10", "--lr-decay", "0.5", *rates, *FAST)
    factors = [json.loads(line)["lr_factor"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert factors == pytest.approx([1, 1, 1, 1, 1, 1, 0.8, 0.6, 0.4, 0.2])
    state = load_training_state(run / "state.safetensors")["task"]
    last_rates = {name: state[name]["param_groups"][0]["lr"] for name in ("opt_G", "opt_D", "optimizer") if name in state}
    expected = {"opt_G": 4e-4 * 0.2, "opt_D": 2e-4 * 0.2} if model == "gan" else {"optimizer": 3e-4 * 0.2}
    assert last_rates == pytest.approx(expected)


def test_lr_decay_without_a_budget_is_refused(metadata_folder, tmp_path):
    out = run_train("gan", "--data", metadata_folder, "--out", tmp_path / "no-budget", "--lr-decay", "0.5", *FAST, check=False)
    assert out.returncode == 2 and "--lr-decay needs a budget" in out.stderr and "Traceback" not in out.stderr


def test_missing_or_corrupt_checkpoint_gives_clear_error(tmp_path):
    with pytest.raises(CheckpointError, match="config.json missing"):
        load_pretrained(ConditionalGenerator, tmp_path / "nowhere")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "config.json").write_text(json.dumps({"_class_name": "ConditionalGenerator"}))
    (bad / "diffusion_pytorch_model.safetensors").write_bytes(b"garbage")
    with pytest.raises(CheckpointError, match="could not be loaded"):
        load_pretrained(ConditionalGenerator, bad)


def test_class_folder_trains_class_conditional_model(tmp_path):
    folder = make_class_folder(tmp_path / "hats")
    run_train("gan", "--data", folder, "--out", tmp_path / "r", "--max-steps", "2", "--val-fraction", "0", *FAST)
    info = json.loads((tmp_path / "r" / "export" / "atelier.json").read_text())
    assert info["conditional"] and set(info["sample_prompts"]) <= {"red hat", "blue hat", "green hat", "black hat"}


def test_narrower_generator_at_another_resolution_trains_and_loads(metadata_folder, tmp_path):
    run_train("gan", "--data", metadata_folder, "--out", tmp_path / "r", "--resolution", "32", "--channels", "64", "32", "16",
              "--max-steps", "2", *FAST)
    export = tmp_path / "r" / "export"
    assert load_pretrained(ProjectionDiscriminator, export / "discriminator").config.channels == [16, 32, 64]
    pipe = TextToProduct.from_pretrained(export, device="cpu")
    assert pipe.generator.config.channels == [64, 32, 16]
    assert [image.size for image in pipe("red cotton shirt", count=2, seed=0)] == [(32, 32)] * 2
    for bad, message in ((["--channels", "64", "32"], "needs 3 positive --channels"), (["--arch", "dcgan", "--channels", "64", "32", "16"], "dcgan")):
        result = run_train("gan", "--data", metadata_folder, "--out", tmp_path / "bad", "--resolution", "32", *bad, "--max-steps", "1", *FAST, check=False)
        assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr


def test_dcgan_baseline_is_unconditional(flat_folder, tmp_path):
    run_train("gan", "--arch", "dcgan", "--data", flat_folder, "--out", tmp_path / "r", "--max-steps", "2", "--val-fraction", "0", *FAST)
    pipe = TextToProduct.from_pretrained(tmp_path / "r" / "export", device="cpu")
    assert not pipe.conditional and len(pipe(None, count=2, seed=0)) == 2


@pytest.mark.slow
def test_two_process_accelerate_run(tmp_path):
    folder = make_metadata_folder(tmp_path / "catalog")
    out = subprocess.run(["accelerate", "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
                          "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", "29533",
                          str(ROOT / "train.py"), "gan", "--data", str(folder), "--out", str(tmp_path / "r"),
                          "--max-steps", "3", "--checkpoint-every", "2", "--classify", "baseColour", "--mode-seeking", "0.1",
                          "--max-minutes", "10", "--lr-decay", "0.5", "--augment", "translation", "--ada-target", "0.6", *FAST],
                         capture_output=True, text=True, timeout=300, env=ENV, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "× 2" in out.stdout
    summary = json.loads(out.stdout.strip().splitlines()[-1])
    assert summary["images_seen"] == 3 * 4 * 2
    assert (tmp_path / "r" / "export" / "diffusion_pytorch_model.safetensors").is_file()


def test_adaptive_augmentation_follows_the_discriminators_confidence():
    images = torch.linspace(-1, 1, 8 * 3 * 16 * 16).reshape(8, 3, 16, 16)
    assert diff_augment(images, "translation", torch.Generator().manual_seed(0), probability=0.0) is images
    mixed = diff_augment(images, "translation", torch.Generator().manual_seed(0), probability=0.5)
    untouched = [torch.equal(a, b) for a, b in zip(mixed, images)]
    assert any(untouched) and not all(untouched)   # each image on its own coin

    # ADA: a discriminator that calls 90 % of the real batch real gets more augmentation, one at 20 % less
    assert adapted_probability(0.1, real_sign=0.8, target=0.6, images=ADA_IMAGES // 10) == pytest.approx(0.2)
    assert adapted_probability(0.1, real_sign=-0.6, target=0.6, images=ADA_IMAGES // 10) == pytest.approx(0.0)
    assert adapted_probability(0.0, real_sign=-1.0, target=0.6, images=64) == 0.0    # never below 0
    assert adapted_probability(1.0, real_sign=1.0, target=0.6, images=64) == 1.0     # nor above 1


def test_mirror_shows_each_real_image_as_it_is_or_mirrored():
    images = torch.rand(64, 3, 8, 8)  # no image equals its mirror image
    seen = mirrored(images, torch.Generator().manual_seed(0))
    flipped = [torch.equal(a, b.flip(2)) for a, b in zip(seen, images)]
    kept = [torch.equal(a, b) for a, b in zip(seen, images)]
    assert all(f != k for f, k in zip(flipped, kept))  # each one or the other, never a blend
    assert 16 < sum(flipped) < 48                       # about half, on a coin per image
    assert torch.equal(seen, mirrored(images, torch.Generator().manual_seed(0)))  # drawn from the step's generator: resumable


def test_adaptive_augmentation_needs_a_policy(metadata_folder, tmp_path):
    out = run_train("gan", "--data", metadata_folder, "--out", tmp_path / "r", "--max-steps", "1", "--augment", "",
                    "--ada-target", "0.6", *FAST, check=False)
    assert out.returncode == 2 and "--ada-target" in out.stderr
