"""Training the matching heads: both towers are frozen, so their outputs are computed once (and cached
in the run folder) and an epoch over 40k pairs takes seconds."""
from __future__ import annotations

from pathlib import Path

import torch

from core.checkpoints import export_pretrained
from core.data import ImageTextDataset
from core.evaluation import cached_features
from core.text import caption_embeddings
from core.training import SingleModelTask, batch_indices, step_generator
from match.model import MatchingHeads, contrastive_loss

SHOWN_QUERIES, SHOWN_RESULTS = 6, 8


class MatchTask(SingleModelTask):
    def __init__(self, options: dict, data: ImageTextDataset, accelerator):
        self.options = options
        self.batch_size, self.seed = options["batch_size"], options["seed"]
        keep = [i for i, c in enumerate(data.captions) if c]
        if len(keep) < 2:
            raise ValueError("the matching model needs captioned images (metadata, .txt or class folders)")
        self.images = data.images[keep]
        self.captions = [data.captions[i] for i in keep]
        cache = options.get("out")
        self.text = caption_embeddings(self.captions, cache)
        self.features = cached_features(self.images, "match-images", size=options["image_size"], cache_dir=cache)
        torch.manual_seed(self.seed)
        super().__init__(MatchingHeads(image_size=options["image_size"]), options["lr"], accelerator)

    def train_step(self, step: int) -> dict[str, float]:
        acc = self.accelerator
        g = step_generator(self.seed, step, acc.process_index)
        idx = batch_indices(step, len(self.images), self.batch_size * acc.num_processes, self.seed, acc.process_index, acc.num_processes)
        text, image = self.text[idx].to(acc.device), self.features[idx].to(acc.device)
        # feature dropout: the heads must not lean on a handful of image channels
        image = image * (torch.rand(image.shape, generator=g) > self.options["feature_dropout"]).to(image.device) / (1 - self.options["feature_dropout"])
        with acc.autocast():
            loss = contrastive_loss(self.model(text, image).float(), self._unwrapped().log_temperature_inv)
        self.optimize(loss)
        return {"loss": loss.item(), "temperature": float(1 / self._unwrapped().log_temperature_inv.exp())}

    def sample_grid(self) -> torch.Tensor:
        """Each row: the best training images for one fixed caption (a retrieval sanity check)."""
        queries = self.captions[::max(1, len(self.captions) // SHOWN_QUERIES)][:SHOWN_QUERIES]
        with self.evaluating() as model:
            scores = model(caption_embeddings(queries).to(self.accelerator.device), self.features.to(self.accelerator.device)).cpu()
        top = scores.topk(min(SHOWN_RESULTS, len(self.images)), dim=1).indices
        return self.images[top.flatten()].float() / 255

    def export(self, folder: Path, summary: dict) -> None:
        from match.card import match_card

        info = {"kind": "match", "image_size": self.options["image_size"], "training": {**summary, "command": self.options["command"]}}
        export_pretrained(self._unwrapped(), folder, match_card(info, self.options), extra_json={"atelier.json": info})
