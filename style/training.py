"""Training step of the fast style decoder (the Trainer in core/training.py runs it).

Content: random crops of the `--data` photos and whole catalog products from `--styles`.
Styles: procedural textures, crops of other photos and zoomed-in catalog products (their prints,
knits and checks), so the decoder meets flat colours, fine patterns and photographs alike.
Loss (AdaIN): the output's deep features should equal the re-styled ones (content) and its
feature statistics the style's (style), its RGB mean and deviation the style's (colour: the
ImageNet features alone let colours drift to grey), plus an identity term — decoding the un-styled features
gives the content back — which makes strength 0 return the photo and keeps products recognisable.
"""
from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F

from core.checkpoints import export_pretrained
from core.data import ImageTextDataset
from core.training import SingleModelTask, batch_indices, step_generator
from style.models import StyleDecoder
from style.statistics import DECODER_TAPS, adain, content_distance, encode, mean_std, style_distance, style_statistics
from core.textures import rand, random_textures

SHOWN = 8


def random_crop(image: torch.Tensor, size: int, g: torch.Generator, min_fraction: float) -> torch.Tensor:
    """A square crop covering `min_fraction`–1 of the image side, resized to size×size, maybe flipped."""
    side = image.shape[-1]
    crop = int(side * rand(g, min_fraction, 1.0))
    top, left = (int(torch.randint(side - crop + 1, (), generator=g)) for _ in range(2))
    x = image[None, :, top:top + crop, left:left + crop].float() / 255
    x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=True)[0]
    return x.flip(-1) if rand(g) < 0.5 else x


class StyleTask(SingleModelTask):
    def __init__(self, options: dict, data: ImageTextDataset, accelerator):
        self.options = options
        self.batch_size, self.seed, self.crop = options["batch_size"], options["seed"], options["crop"]
        self.photos = data.images
        self.products = ImageTextDataset(options["styles"], options["crop"], "train", fit="pad", limit=options["style_limit"],
                                         progress=accelerator.is_main_process).images
        torch.manual_seed(self.seed)
        super().__init__(StyleDecoder(), options["lr"], accelerator)

    def batch(self, step: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """(content, style) in [-1, 1] for this process's share of the step."""
        acc = self.accelerator
        idx = batch_indices(step, len(self.photos), self.batch_size * acc.num_processes, self.seed, acc.process_index, acc.num_processes)
        c, contents, styles = self.crop, [], []
        for i in idx.tolist():
            if rand(g) < self.options["product_fraction"]:
                contents.append(random_crop(self.products[int(torch.randint(len(self.products), (), generator=g))], c, g, 1.0))
            else:
                contents.append(random_crop(self.photos[i], c, g, 0.5))
            source = rand(g)
            if source < self.options["texture_fraction"]:
                styles.append(random_textures(1, c, g)[0])
            elif source < (1 + self.options["texture_fraction"]) / 2:
                styles.append(random_crop(self.photos[int(torch.randint(len(self.photos), (), generator=g))], c, g, 0.25))
            else:  # the middle of a product: its fabric and print rather than the white margin
                product = self.products[int(torch.randint(len(self.products), (), generator=g))]
                margin = self.products.shape[-1] // 4
                styles.append(random_crop(product[:, margin:-margin, margin:-margin], c, g, 0.6))
        return torch.stack(contents) * 2 - 1, torch.stack(styles) * 2 - 1

    def stylize(self, model, content: torch.Tensor, style: torch.Tensor):
        with torch.no_grad():
            content_features = encode(content)
            statistics = style_statistics(encode(style))
        targets = {tap: adain(content_features[tap], *statistics[tap]) for tap in DECODER_TAPS}
        output = model(*(targets[tap] for tap in DECODER_TAPS), size=content.shape[-2:])
        return output, content_features, statistics, targets

    def train_step(self, step: int) -> dict[str, float]:
        acc = self.accelerator
        content, style = (x.to(acc.device) for x in self.batch(step, step_generator(self.seed, step, acc.process_index)))
        with acc.autocast():
            output, content_features, statistics, targets = self.stylize(self.model, content, style)
            features = encode(output.float())
            content_loss = content_distance(features, targets[DECODER_TAPS[-1]]).mean()
            style_loss = style_distance(features, statistics).mean()
            colour = sum((a - b).square().mean() for a, b in zip(mean_std(output.float()), mean_std(style)))
            reconstruction = self.model(*(content_features[tap] for tap in DECODER_TAPS), size=content.shape[-2:])
            identity = (reconstruction.float() - content).abs().mean()
            loss = (content_loss + self.options["style_weight"] * style_loss + self.options["colour_weight"] * colour
                    + self.options["identity_weight"] * identity)
        self.optimize(loss)
        return {"loss": loss.item(), "content": content_loss.item(), "style": style_loss.item(), "colour": colour.item(),
                "identity": identity.item()}

    def sample_grid(self) -> torch.Tensor:
        """Rows: content, style, stylised, reconstruction (strength 0)."""
        content, style = self.batch(0, torch.Generator().manual_seed(12345))
        content, style = content[:SHOWN].to(self.accelerator.device), style[:SHOWN].to(self.accelerator.device)
        with self.evaluating() as model:
            output = self.stylize(model, content, style)[0]
            reconstruction = model(*(encode(content)[tap] for tap in DECODER_TAPS), size=content.shape[-2:])
        return (torch.cat([content, style, output, reconstruction]).float().cpu().clamp(-1, 1) + 1) / 2

    def export(self, folder: Path, summary: dict) -> None:
        from style.card import style_card

        info = {"kind": "style", "training": {**summary, "command": self.options["command"]}}
        export_pretrained(self._unwrapped(), folder, style_card(info, self.options), extra_json={"atelier.json": info})
