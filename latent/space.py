"""A generator's latent space, the same way for the VAE and the GAN: what sliders, morphs and
directions are computed in.

- VAE: the latent is z (latent_dim); photos can be encoded into it (μ of the encoder).
- GAN: the latent is w = [noise, projected text embedding], what every generator block reads
  (`ConditionalGenerator.mapping`); a start is a seed + a prompt. GANs cannot encode photos.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import torch

from core.checkpoints import CheckpointError, load_pretrained, read_json
from core.devices import inference_device
from core.images import ImageSource, load_image, prepare_square, to_tensor
from core.outputs import from_uint8, to_uint8


FIT_STEPS = 25              # fitting an uploaded photo's latent: +9.7 points recognised after decoding (bench/latent.py)
FIT_LR = 0.05


class LatentError(ValueError):
    """A request the model cannot serve (encode with a GAN, a latent of the wrong size…); for the user."""


def fingerprint(folder: Path) -> str:
    """Identifies a checkpoint (config + weight sizes), so an edit saved with one model is refused by another."""
    digest = hashlib.sha1((folder / "config.json").read_bytes())
    for weights in sorted(folder.glob("diffusion_pytorch_model*.safetensors")):
        digest.update(f"{weights.name}:{weights.stat().st_size}".encode())
    return digest.hexdigest()[:12]


class LatentSpace:
    kind: str
    can_encode = False

    def __init__(self, model: torch.nn.Module, info: dict, folder: Path):
        self.model, self.info, self.folder = model, info, folder
        self.name = folder.name
        self.id = fingerprint(folder)
        self.device = next(model.parameters()).device
        self.resolution = int(info.get("resolution", 64))

    @property
    def latent_dim(self) -> int:
        raise NotImplementedError

    def generate(self, latents: torch.Tensor) -> torch.Tensor:
        """(N, latent_dim) → float images in [−1, 1], differentiable (for gradient-based directions)."""
        raise NotImplementedError

    @torch.inference_mode()
    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        """(N, latent_dim) → uint8 images (N, 3, H, W)."""
        return to_uint8(self.generate(self.check(latents).float().to(self.device)))

    @property
    def attribute_dims(self) -> slice:
        """The latent coordinates that can carry product attributes (all of them, except for the GAN)."""
        return slice(None)

    def check(self, latents: torch.Tensor) -> torch.Tensor:
        if latents.ndim != 2 or latents.shape[1] != self.latent_dim:
            raise LatentError(f"{self.name} expects latents of size {self.latent_dim}, got shape {tuple(latents.shape)}")
        if not torch.isfinite(latents).all():
            raise LatentError("the latent contains NaN or infinite values")
        return latents


class VAESpace(LatentSpace):
    kind = "vae"
    can_encode = True

    @property
    def latent_dim(self) -> int:
        return self.model.config.latent_dim

    def generate(self, latents: torch.Tensor) -> torch.Tensor:
        return self.model.decode(latents)

    @property
    def perceptual_weight(self) -> float:
        """The weight of the EfficientNet-Lite0 term in the loss the decoder learned with (exports made
        before it was recorded used train.py vae's default, 0.05)."""
        return float(self.info.get("perceptual_weight", 0.05))

    @torch.inference_mode()
    def encode_pixels(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 (N, 3, H, W) at the model's resolution → μ (N, latent_dim)."""
        return self.model.encode(from_uint8(images.to(self.device)))[0].float().cpu()

    def encode(self, image: ImageSource, fit_steps: int = FIT_STEPS) -> torch.Tensor:
        """Any image a user uploads → its latent (1, latent_dim), prepared like the training data:
        the encoder's μ, then `fit_steps` steps that bring its decoding closer to the image."""
        pixels = to_tensor(prepare_square(load_image(image), self.resolution), torch.uint8)[None]
        return self.fit(pixels, self.encode_pixels(pixels), fit_steps)

    def fit(self, images: torch.Tensor, latents: torch.Tensor, steps: int) -> torch.Tensor:
        """Adam on the latents (not the weights) against the VAE's own reconstruction loss (pixels +
        EfficientNet-Lite0 features), starting from `latents`. The encoder lands near, not on, the
        best latent for an image, most of all for a photo unlike the catalog it learned from."""
        from core.features import feature_distance, feature_maps

        if steps <= 0:
            return latents
        with torch.inference_mode(False):  # a caller's inference mode would forbid the gradients
            target = from_uint8(images.to(self.device))
            with torch.no_grad():
                target_maps = feature_maps(target, device=self.device.type)
            latent = latents.float().to(self.device).clone().requires_grad_(True)
            optimizer = torch.optim.Adam([latent], lr=FIT_LR)
            for _ in range(steps):
                output = self.model.decode(latent)
                loss = (output - target).square().mean() + self.perceptual_weight * feature_distance(feature_maps(output, device=self.device.type), target_maps)
                (latent.grad,) = torch.autograd.grad(loss, latent)
                optimizer.step()
        return latent.detach().cpu()


class GANSpace(LatentSpace):
    kind = "gan"

    @property
    def latent_dim(self) -> int:
        return self.model.stem.in_features

    @property
    def attribute_dims(self) -> slice:
        """Only the text part of w: the noise is drawn independently of the product's attributes."""
        return slice(self.model.config.noise_dim, None) if self.conditional else slice(None)

    @property
    def conditional(self) -> bool:
        return self.model.cond_embed is not None

    def noise(self, count: int, generator: torch.Generator) -> torch.Tensor:
        """(count, noise_dim) noise to `map`, drawn as Generate draws it."""
        from gan.generate import sample_noise

        return sample_noise(count, self.model.config.noise_dim, generator)

    @torch.inference_mode()
    def map(self, noise: torch.Tensor, prompts: list[str] | None) -> torch.Tensor:
        """noise (N, noise_dim) + prompts → w (N, latent_dim)."""
        cond = None
        if self.conditional:
            from core.text import encode_text

            if not prompts or any(not (p or "").strip() for p in prompts):
                raise LatentError("this GAN is text-conditional: type a product description to start from")
            cond = encode_text(prompts).to(self.device)
        return self.model.mapping(noise.to(self.device), cond).float().cpu()

    def generate(self, latents: torch.Tensor) -> torch.Tensor:
        return self.model.synthesis(latents)

    @torch.inference_mode()
    def stem_features(self, latents: torch.Tensor) -> torch.Tensor:
        return self.model.stem_features(latents.float().to(self.device)).flatten(1).float().cpu()

    def encode(self, image: ImageSource, fit_steps: int = 0) -> torch.Tensor:
        raise LatentError("a GAN cannot encode a photo; choose a VAE model to start from your own product photo")


def load_space(folder: str | Path, device: str | torch.device | None = None) -> LatentSpace:
    """The latent space of a shipped VAE or GAN checkpoint folder (its atelier.json says which)."""
    folder = Path(folder)
    try:
        info = read_json(folder / "atelier.json", {})
    except ValueError:
        raise CheckpointError(f"{folder}/atelier.json is damaged; restore it with `git checkout -- {folder}`") from None
    device = device or inference_device()
    if info.get("kind") == "vae":
        from vae.model import VAE

        return VAESpace(load_pretrained(VAE, folder, device), info, folder)
    if info.get("kind") == "gan" and info.get("arch") == "sngan":
        from gan.model import ConditionalGenerator

        return GANSpace(load_pretrained(ConditionalGenerator, folder, device), info, folder)
    raise CheckpointError(f"{folder} is not a VAE or conditional-GAN checkpoint (atelier.json kind={info.get('kind')!r}, "
                          f"arch={info.get('arch')!r}); latent sliders need one of those")
