"""The loop every model shares. It hides nothing: read `Trainer.fit` top to bottom.

A *task* (e.g. `gan.training.GANTask`) owns its models, optimisers and one training step;
`Trainer` owns everything around it: Accelerate, the time budget, the progress bar, the JSONL
metrics log, sample grids, atomic checkpoints and exact resume, and the export at the end.

Resuming is exact because a step's randomness is a pure function of (seed, step, process):
batches come from a per-epoch permutation and noise from a generator seeded per step, so a run
killed and resumed from its last checkpoint computes the same steps as one never interrupted.
"""
from __future__ import annotations

import json
import math
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

import torch
import torch.nn.functional as F
from accelerate.utils import broadcast
from tqdm.auto import tqdm

from core.checkpoints import CheckpointError, atomic_path, load_pretrained, load_training_state, save_training_state, write_text_atomic
from core.data import ImageTextDataset

STATE_FILE = "state.safetensors"


class Task(Protocol):
    batch_size: int

    def train_step(self, step: int) -> dict[str, float]: ...
    def scale_learning_rates(self, factor: float) -> None: ...
    def state_dict(self) -> dict: ...
    def load_state_dict(self, state: dict) -> None: ...
    def sample_grid(self) -> torch.Tensor: ...
    def export(self, folder: Path, summary: dict) -> None: ...


class SingleModelTask:
    """What tasks with one model and one Adam optimizer share (the VAE, the enhancement networks):
    Accelerate preparation, state for checkpoints, and eval mode while sampling."""

    def __init__(self, model: torch.nn.Module, lr: float, accelerator, keep_start: bool = False):
        self.accelerator, self.lr = accelerator, lr
        self.keep_start, self.start = keep_start, None  # the --init-from weights, kept (in checkpoints too) for `exported_model`
        optimizer = torch.optim.Adam(model.parameters(), lr=lr)
        self.model, self.optimizer = accelerator.prepare(model, optimizer)

    def _unwrapped(self) -> torch.nn.Module:
        return self.accelerator.unwrap_model(self.model)

    def optimize(self, loss: torch.Tensor) -> None:
        self.accelerator.backward(loss)
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)

    def scale_learning_rates(self, factor: float) -> None:
        for group in self.optimizer.param_groups:
            group["lr"] = self.lr * factor

    def state_dict(self) -> dict:
        state = {"model": self._unwrapped().state_dict(), "optimizer": self.optimizer.state_dict()}
        return state if self.start is None else {**state, "start": self.start}

    def initialise_from(self, folder: str) -> str:
        """Start from an exported model of the same architecture (fine-tuning a shipped one, or
        continuing one whose training state is gone); called for a fresh run only. Returns what was loaded."""
        model = self._unwrapped()
        source = load_pretrained(type(model), folder)
        ours, theirs = model_config(model), model_config(source)
        if ours != theirs:
            raise ValueError(f"--init-from {folder}: its model differs from the one this run builds (checkpoint vs run: {config_differences(theirs, ours)})")
        model.load_state_dict(source.state_dict())
        if self.keep_start:
            self.start = source.state_dict()
        return f"{type(model).__name__} weights"

    def exported_model(self, blend: float) -> torch.nn.Module:
        """The model to export: the trained one, or with `blend` < 1 a copy whose weights are
        blend·trained + (1 − blend)·the --init-from ones. Interpolating a fine-tuned model with the
        one it started from (WiSE-FT, Wortsman et al. 2022) keeps much of what the start did well
        while keeping most of what fine-tuning added."""
        model = self._unwrapped()
        if blend >= 1:
            return model
        blended = type(model).from_config(model.config)
        blended.load_state_dict({k: torch.lerp(self.start[k].float(), v.float().cpu(), blend).to(v.dtype) if v.is_floating_point() else v
                                 for k, v in model.state_dict().items()})
        return blended

    def load_state_dict(self, state: dict) -> None:
        self._unwrapped().load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.start = state.get("start")
        if self.keep_start and self.start is None:
            raise CheckpointError("--export-blend below 1 needs the weights the run started from, and this run was started "
                                  "without it (or without --init-from), so it kept none; export without it, or start a new run")
        self.scale_learning_rates(1.0)  # `--resume --lr` fine-tunes at a new rate

    @contextmanager
    def evaluating(self):
        """The unwrapped model in eval mode without gradients (for sample grids), restored afterwards."""
        model = self._unwrapped()
        was_training = model.training
        model.eval()
        try:
            with torch.no_grad():
                yield model
        finally:
            model.train(was_training)


def model_config(model) -> dict:
    """A diffusers model's config as plain JSON values, without its private keys."""
    return json.loads(json.dumps({k: v for k, v in model.config.items() if not k.startswith("_")}))


def config_differences(theirs: dict, ours: dict) -> dict:
    return {k: (theirs.get(k), ours.get(k)) for k in ours.keys() | theirs.keys() if ours.get(k) != theirs.get(k)}


def step_generator(seed: int, step: int, rank: int = 0) -> torch.Generator:
    """The random source of one step on one process (stateless, hence exactly resumable)."""
    return torch.Generator().manual_seed((seed * 1_000_003 + step * 7919 + rank) % (2**63))


def batch_indices(step: int, num_items: int, global_batch: int, seed: int, rank: int = 0, world: int = 1) -> torch.Tensor:
    """This process's share of the global batch for `step`: a fresh permutation every epoch."""
    per_epoch = max(1, num_items // global_batch)
    epoch, position = divmod(step, per_epoch)
    order = torch.randperm(num_items, generator=torch.Generator().manual_seed(seed + 104_729 * epoch))
    if num_items < global_batch:  # tiny folders: sample with repetition rather than fail
        order = order.repeat(math.ceil(global_batch / num_items))
    batch = order[position * global_batch:(position + 1) * global_batch]
    return batch[rank::world]


def class_labels(data: ImageTextDataset, columns: list[str]) -> tuple[torch.Tensor, dict[str, list[str]]]:
    """(N, columns) class indices of each item among its column's 40 most common values (-100, which
    cross-entropy ignores, for other or missing values) and the class names per column, in index order."""
    vocabulary = data.vocabulary(tuple(columns))
    missing = [c for c in columns if c not in vocabulary]
    if missing:
        raise ValueError(f"--classify: the data has no column {', '.join(missing)}")
    index = [{v: i for i, v in enumerate(vocabulary[c])} for c in columns]
    labels = torch.tensor([[index[j].get(a.get(c), -100) for j, c in enumerate(columns)] for a in data.attributes])
    return labels, {c: vocabulary[c] for c in columns}


def classification_loss(logits: torch.Tensor, labels: torch.Tensor, classes: list[int]) -> torch.Tensor:
    """Cross-entropy summed over the columns, each averaged over the items that have a label."""
    total = logits.new_zeros((), dtype=torch.float32)
    for column, column_logits in enumerate(logits.float().split(classes, dim=1)):
        target = labels[:, column]
        if (target >= 0).any():
            total = total + F.cross_entropy(column_logits, target, ignore_index=-100)
    return total


class Trainer:
    def __init__(self, task: Task, run_dir: str | Path, accelerator, *, max_steps: int | None, max_minutes: float | None,
                 checkpoint_every: int, sample_every: int, log_every: int = 10, export_dir: str | Path | None = None,
                 lr_decay: float = 0.0):
        if not 0 <= lr_decay <= 1:
            raise ValueError(f"--lr-decay is a fraction of the budget, between 0 and 1 (got {lr_decay})")
        if lr_decay and max_steps is None and max_minutes is None:
            raise ValueError("--lr-decay needs a budget to end at: give --max-minutes or --max-steps")
        self.task, self.accelerator = task, accelerator
        self.run_dir = Path(run_dir)
        self.max_steps, self.max_minutes, self.lr_decay = max_steps, max_minutes, lr_decay
        self.checkpoint_every, self.sample_every, self.log_every = checkpoint_every, sample_every, log_every
        self.export_dir = Path(export_dir) if export_dir else self.run_dir / "export"
        self.step, self.elapsed = 0, 0.0

    @property
    def is_main(self) -> bool:
        return self.accelerator.is_main_process

    def resume(self) -> bool:
        path = self.run_dir / STATE_FILE
        if not path.is_file():
            return False
        state = load_training_state(path)
        self.task.load_state_dict(state["task"])
        self.step, self.elapsed = int(state["step"]), float(state["elapsed"])
        return True

    def checkpoint(self) -> None:
        self.accelerator.wait_for_everyone()
        if self.is_main:
            save_training_state(self.run_dir / STATE_FILE, {"task": self.task.state_dict(), "step": self.step, "elapsed": self.elapsed})
        self.accelerator.wait_for_everyone()

    def save_samples(self) -> None:
        from torchvision.utils import save_image

        grid = self.task.sample_grid()
        if self.is_main:
            with atomic_path(self.run_dir / "samples" / f"step{self.step:07d}.png") as tmp:
                save_image(grid, str(tmp), nrow=8, format="png")

    def log(self, record: dict) -> None:
        if self.is_main:
            with open(self.run_dir / "metrics.jsonl", "a", encoding="utf-8") as f:
                f.write(json.dumps(record) + "\n")

    def out_of_budget(self) -> bool:
        over = self.max_minutes is not None and self.elapsed >= self.max_minutes * 60
        if over:
            self.accelerator.set_trigger()
        return self.accelerator.check_trigger()  # every process stops at the same step

    def learning_rate_factor(self) -> float:
        """1, then over the last `lr_decay` of the budget a linear fall to 0 at its end. The budget is
        --max-minutes or --max-steps, whichever runs out first; a time budget makes the schedule follow
        the clock, so a resumed run is exact only up to the clock's readings (saved with the state)."""
        if not self.lr_decay:
            return 1.0
        progress = max(self.elapsed / (self.max_minutes * 60) if self.max_minutes else 0.0,
                       self.step / self.max_steps if self.max_steps else 0.0)
        if self.max_minutes and self.accelerator.num_processes > 1:  # one clock for all, or DDP replicas would step apart
            progress = broadcast(torch.tensor([progress], device=self.accelerator.device), from_process=0).item()
        return min(1.0, max(0.0, (1 - progress) / self.lr_decay))

    def fit(self) -> dict:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        world = self.accelerator.num_processes
        bar = tqdm(total=self.max_steps, initial=self.step, disable=not self.is_main, desc="training", dynamic_ncols=True)
        images_seen_window, window_start = 0, time.perf_counter()
        while (self.max_steps is None or self.step < self.max_steps) and not self.out_of_budget():
            started = time.perf_counter()
            lr_factor = self.learning_rate_factor()
            self.task.scale_learning_rates(lr_factor)
            metrics = self.task.train_step(self.step)
            self.step += 1
            self.elapsed += time.perf_counter() - started
            images_seen_window += self.task.batch_size * world
            bar.update(1)
            if self.step % self.log_every == 0 or self.step == self.max_steps:
                rate = images_seen_window / max(time.perf_counter() - window_start, 1e-9)
                images_seen_window, window_start = 0, time.perf_counter()
                bar.set_postfix({**{k: f"{v:.3f}" for k, v in metrics.items()}, "img/s": f"{rate:.1f}"})
                self.log({"step": self.step, "minutes": round(self.elapsed / 60, 3), "images_per_s": round(rate, 2),
                          "lr_factor": round(lr_factor, 4), **metrics})
            if self.step % self.sample_every == 0:
                self.save_samples()
            if self.step % self.checkpoint_every == 0:
                self.checkpoint()
        bar.close()
        self.checkpoint()
        self.save_samples()
        summary = {"steps": self.step, "minutes": round(self.elapsed / 60, 2), "images_seen": self.step * self.task.batch_size * world}
        if self.is_main:
            self.task.export(self.export_dir, summary)
        self.accelerator.wait_for_everyone()
        return summary


def save_options(run_dir: Path, options: dict, resume: bool) -> None:
    """Record the run's options; a resumed run must not silently change what it trains."""
    path = run_dir / "options.json"
    if resume and path.is_file():
        previous = json.loads(path.read_text(encoding="utf-8"))
        fixed = ("model", "data", "arch", "resolution", "batch_size", "seed", "caption_column", "latent_dim", "classify", "channels")
        changed = {k: (previous[k], options.get(k)) for k in fixed if k in previous and previous[k] != options.get(k)}
        if changed:
            raise CheckpointError(f"--resume with different options than the run was started with: {changed}")
    run_dir.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, json.dumps(options, indent=2))
