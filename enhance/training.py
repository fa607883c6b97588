"""Training steps of the enhancement networks (the Trainer in core/training.py runs them).

Pairs are made on the fly from clean images with `enhance.degrade`, from a generator seeded per
step, so a killed run resumes exactly. One class per network; they share batching, state, samples
and export through `EnhanceTask`.
"""
from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F

from core.checkpoints import export_pretrained
from core.data import ImageTextDataset
from core.features import perceptual_loss
from core.training import SingleModelTask, batch_indices, step_generator
from enhance import degrade
from enhance.models import Denoiser, Inpainter, Segmenter, SuperResolution, ToneEstimator, log2_gains

SHOWN = 8


class EnhanceTask(SingleModelTask):
    kind: str
    model_class: type

    def __init__(self, options: dict, data: ImageTextDataset, accelerator):
        self.options = options
        self.batch_size, self.seed, self.crop = options["batch_size"], options["seed"], options["crop"]
        self.images = data.images
        if self.crop > self.images.shape[-1]:
            raise ValueError(f"--crop {self.crop} is larger than --resolution {self.images.shape[-1]}")
        if not 0 < options["export_blend"] <= 1:
            raise ValueError(f"--export-blend {options['export_blend']} is outside (0, 1]")
        if options["export_blend"] < 1 and not options["init_from"]:
            raise ValueError("--export-blend below 1 needs --init-from: it blends the fine-tuned weights with the started-from ones")
        torch.manual_seed(self.seed)
        super().__init__(self.model_class(), options["lr"], accelerator, keep_start=options["export_blend"] < 1)

    def clean_batch(self, step: int, g: torch.Generator) -> torch.Tensor:
        """Random crops (with flips) of this process's share of the step's images, floats in [0, 1]."""
        acc = self.accelerator
        idx = batch_indices(step, len(self.images), self.batch_size * acc.num_processes, self.seed, acc.process_index, acc.num_processes)
        size, c = self.images.shape[-1], self.crop
        crops = []
        for i in idx.tolist():
            top, left = (int(torch.randint(size - c + 1, (), generator=g)) for _ in range(2))
            crop = self.images[i, :, top:top + c, left:left + c]
            crops.append(crop.flip(-1) if torch.rand((), generator=g) < 0.5 else crop)
        return torch.stack(crops).float() / 255

    def pair(self, clean: torch.Tensor, g: torch.Generator, step: int) -> tuple[tuple, torch.Tensor]:
        """(model inputs, target) for a clean batch."""
        raise NotImplementedError

    def loss(self, output: torch.Tensor, target: torch.Tensor, inputs: tuple) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def train_step(self, step: int) -> dict[str, float]:
        acc = self.accelerator
        g = step_generator(self.seed, step, acc.process_index)
        inputs, target = self.pair(self.clean_batch(step, g), g, step)
        inputs = tuple(x.to(acc.device) if isinstance(x, torch.Tensor) else x for x in inputs)
        target = target.to(acc.device)
        with acc.autocast():
            output = self.model(*inputs)
            terms = self.loss(output.float(), target, inputs)
        self.optimize(terms["loss"])
        return {k: v.item() for k, v in terms.items()}

    def sample_grid(self) -> torch.Tensor:
        """Rows of (input shown at output size, output, target) for fixed crops."""
        g = torch.Generator().manual_seed(12345)
        inputs, target = self.pair(self.clean_batch(0, g)[:SHOWN], g, 0)
        with self.evaluating() as model:
            output = model(*(x.to(self.accelerator.device) if isinstance(x, torch.Tensor) else x for x in inputs)).float().cpu()
        shown = self.show(inputs, output, target)
        return torch.cat([torch.stack(row) for row in zip(*shown)]).clamp(0, 1)

    def show(self, inputs: tuple, output: torch.Tensor, target: torch.Tensor) -> list[torch.Tensor]:
        first = F.interpolate(inputs[0], size=target.shape[-2:], mode="nearest")
        return [first, output, target]

    def export(self, folder: Path, summary: dict) -> None:
        from enhance.card import enhance_card

        info = {"kind": self.kind, "training": {**summary, "command": self.options["command"]}}
        model = self.exported_model(self.options["export_blend"])
        export_pretrained(model, folder, enhance_card(info, self.options), extra_json={"atelier.json": info})


class SuperResolutionTask(EnhanceTask):
    kind, model_class = "sr", SuperResolution

    def pair(self, clean, g, step):
        scale = 4 if step % 2 == 0 else 2
        realistic = bool(torch.rand((), generator=g) < self.options["realistic_fraction"])
        return (degrade.downscale(clean, scale, g, realistic), scale), clean

    def loss(self, output, target, inputs):
        l1 = (output - target).abs().mean()
        perceptual = perceptual_loss(output * 2 - 1, target * 2 - 1) if self.options["perceptual_weight"] > 0 else torch.zeros(())
        mse = (output.clamp(0, 1) - target).square().mean()
        return {"loss": l1 + self.options["perceptual_weight"] * perceptual, "l1": l1, "perceptual": perceptual,
                "psnr": -10 * torch.log10(mse.clamp_min(1e-10))}


class DenoiseTask(EnhanceTask):
    kind, model_class = "denoise", Denoiser

    def pair(self, clean, g, step):
        noisy, sigma = degrade.add_noise(clean, g)
        return (noisy, sigma), clean

    def loss(self, output, target, inputs):
        mse = (output - target).square().mean()
        return {"loss": mse, "psnr": -10 * torch.log10(mse.clamp_min(1e-10))}


class InpaintTask(EnhanceTask):
    kind, model_class = "inpaint", Inpainter

    def pair(self, clean, g, step):
        masks = degrade.free_form_masks(len(clean), clean.shape[-1], g)
        return (clean, masks, degrade.telea(clean, masks)), clean

    def loss(self, output, target, inputs):
        mask = inputs[1]
        distance = (output - target).square() if self.options["hole_loss"] == "l2" else (output - target).abs()
        hole = (distance * mask).sum() / (3 * mask.sum()).clamp_min(1)
        perceptual = perceptual_loss(output * 2 - 1, target * 2 - 1) if self.options["perceptual_weight"] > 0 else torch.zeros(())
        return {"loss": hole + self.options["perceptual_weight"] * perceptual, "hole": hole, "perceptual": perceptual}

    def show(self, inputs, output, target):
        clean, mask, _ = inputs
        return [clean * (1 - mask) + mask * torch.tensor([1.0, 0.0, 1.0]).view(1, 3, 1, 1), output, target]


class SegmentTask(EnhanceTask):
    """Catalog products (white backgrounds give the masks) composited onto varied backgrounds, and
    (a `--photo-fraction` of each batch) the everyday photos themselves with GrabCut's masks."""

    kind, model_class = "segment", Segmenter

    def __init__(self, options, data, accelerator):
        super().__init__(options, data, accelerator)
        self.images, self.masks = degrade.usable_products(self.images)
        self.backgrounds = ImageTextDataset(options["backgrounds"], 256, "train", fit="crop", progress=accelerator.is_main_process).images
        self.photo_count = round(options.get("photo_fraction", 0.0) * self.batch_size)
        if self.photo_count:
            photos = ImageTextDataset(options["backgrounds"], 256, "train", fit="pad", progress=accelerator.is_main_process).images
            self.photos, self.photo_masks = degrade.usable_photos(photos)
            if not len(self.photos):
                raise ValueError(f"--photo-fraction: GrabCut found no product in any photo of {options['backgrounds']}")

    def clean_batch(self, step, g):
        """Whole products (no crop) with their masks stacked as a 4th channel."""
        acc = self.accelerator
        idx = batch_indices(step, len(self.images), self.batch_size * acc.num_processes, self.seed, acc.process_index, acc.num_processes)
        return torch.cat([self.images[idx].float() / 255, self.masks[idx].float()], 1)

    def pair(self, clean, g, step):
        image, mask = degrade.composite(clean[:, :3], clean[:, 3:], self.backgrounds, g, self.options["print_fraction"],
                                        self.options["soften_fraction"])
        if self.photo_count:
            k = min(self.photo_count, len(image))
            image[:k], mask[:k] = degrade.photo_crops(self.photos, self.photo_masks, k, image.shape[-1], g)
        return (image,), mask

    def loss(self, output, target, inputs):
        bce = F.binary_cross_entropy_with_logits(output, target)
        p = torch.sigmoid(output)
        dice = 1 - (2 * (p * target).sum() + 1) / (p.sum() + target.sum() + 1)
        iou = ((p > 0.5) & (target > 0.5)).sum() / ((p > 0.5) | (target > 0.5)).sum().clamp_min(1)
        return {"loss": bce + dice, "bce": bce, "iou": iou.float()}

    def show(self, inputs, output, target):
        return [inputs[0], torch.sigmoid(output).expand(-1, 3, -1, -1), target.expand(-1, 3, -1, -1)]


class ToneTask(EnhanceTask):
    """Photos shifted by a random exposure and colour cast (a third left as they are); the estimator
    predicts the shift, scored in stops of gain per channel."""

    kind, model_class = "tone", ToneEstimator

    def pair(self, clean, g, step):
        shift = degrade.random_tone_shifts(len(clean), g, untouched=1 / 3)
        return (degrade.shift_tone(clean, shift),), shift

    def loss(self, output, target, inputs):
        stops = (log2_gains(output) - log2_gains(target)).square().mean()
        return {"loss": stops, "rms_stops": stops.sqrt()}

    def show(self, inputs, output, target):
        shifted = inputs[0]
        return [shifted, degrade.shift_tone(shifted, -output), degrade.shift_tone(shifted, -target)]


TASKS = {"sr": SuperResolutionTask, "denoise": DenoiseTask, "inpaint": InpaintTask, "segment": SegmentTask, "tone": ToneTask}
