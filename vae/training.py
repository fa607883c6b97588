"""One VAE training step and everything the Trainer needs from a VAE (state, samples, export).

Loss per image: mean squared error (pixels in [-1, 1]) + `perceptual_weight` × EfficientNet-Lite0
feature distance (keeps reconstructions from going blurry) + `kl_weight` × KL(q(z|x) ‖ N(0, I)) in
nats summed over the latent; with `--classify`, + `classify_weight` × the cross-entropy of a linear
head that reads the items' metadata classes from μ (named sliders then have a line to move along).
The KL weight is small on purpose: a Gaussian decoder whose error is the MSE we aim for (PSNR 22 dB
⇒ MSE ≈ 0.025 at this scale) corresponds to ≈ 4e-6 per nat.
"""
from __future__ import annotations

from pathlib import Path

import torch

from core.checkpoints import export_pretrained
from core.data import ImageTextDataset
from core.features import perceptual_loss
from core.outputs import from_uint8
from core.training import SingleModelTask, batch_indices, class_labels, classification_loss, step_generator
from vae.model import VAE

SHOWN = 16  # fixed training images whose reconstructions fill the sample grid


def psnr_from_mse(mse: float) -> float:
    """PSNR in dB of images in [-1, 1] (peak-to-peak 2) from their mean squared error."""
    import math

    return 10 * math.log10(4 / max(mse, 1e-12))


def kl_divergence(mean: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """KL(N(mean, σ²) ‖ N(0, I)) in nats, summed over the latent, averaged over the batch."""
    return -0.5 * (1 + log_var - mean.square() - log_var.exp()).sum(1).mean()


class VAETask(SingleModelTask):
    def __init__(self, options: dict, data: ImageTextDataset, accelerator):
        self.options = options
        self.batch_size, self.seed = options["batch_size"], options["seed"]
        self.images = data.images
        self.shown = self.images[torch.linspace(0, len(self.images) - 1, SHOWN).long()]
        self.classes: list[int] = []
        if options.get("classify"):
            self.labels, names = class_labels(data, options["classify"])
            self.classes = [len(column) for column in names.values()]
        torch.manual_seed(self.seed)
        model = VAE(resolution=options["resolution"], latent_dim=options["latent_dim"], classes=tuple(self.classes))
        model = model.to(memory_format=torch.channels_last)
        super().__init__(model, options["lr"], accelerator)

    def train_step(self, step: int) -> dict[str, float]:
        acc = self.accelerator
        g = step_generator(self.seed, step, acc.process_index)
        idx = batch_indices(step, len(self.images), self.batch_size * acc.num_processes, self.seed, acc.process_index, acc.num_processes)
        real = from_uint8(self.images[idx].to(acc.device)).contiguous(memory_format=torch.channels_last)
        with acc.autocast():
            reconstruction, mean, log_var, logits = self.model(real, g)
            mse = (reconstruction.float() - real).square().mean()
            kl = kl_divergence(mean.float(), log_var.float())
            loss = mse + self.options["kl_weight"] * kl
            classify = torch.zeros(())
            if self.classes:
                classify = classification_loss(logits, self.labels[idx].to(logits.device), self.classes)
                loss = loss + self.options["classify_weight"] * classify
            perceptual = torch.zeros(())
            if self.options["perceptual_weight"] > 0:
                perceptual = perceptual_loss(reconstruction, real)
                loss = loss + self.options["perceptual_weight"] * perceptual
        self.optimize(loss)
        return {"loss": loss.item(), "mse": mse.item(), "psnr": psnr_from_mse(mse.item()), "kl": kl.item(), "perceptual": perceptual.item(),
                **({"classify": classify.item()} if self.classes else {})}

    def sample_grid(self) -> torch.Tensor:
        """Rows alternate 8 training images / their reconstructions (from μ), then two rows of random samples."""
        device = self.accelerator.device
        with self.evaluating() as model:
            real = from_uint8(self.shown.to(device))
            reconstruction = model.decode(model.encode(real)[0])
            samples = model.decode(torch.randn(SHOWN, model.config.latent_dim, generator=torch.Generator().manual_seed(0)).to(device))
        rows = [real[:8], reconstruction[:8], real[8:], reconstruction[8:], samples]
        return (torch.cat(rows).float().cpu().clamp(-1, 1) + 1) / 2

    def export(self, folder: Path, summary: dict) -> None:
        from vae.card import vae_card

        info = {
            "kind": "vae",
            "resolution": self.options["resolution"],
            "latent_dim": self.options["latent_dim"],
            "perceptual_weight": self.options["perceptual_weight"],
            "vocabulary": self.options.get("vocabulary", {}),
            "training": {**summary, "command": self.options["command"]},
        }
        export_pretrained(self._unwrapped(), folder, vae_card(info, self.options), extra_json={"atelier.json": info})
