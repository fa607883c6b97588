"""Metrics on frozen EfficientNet-Lite0 features: Fréchet distance (torchmetrics) and linear probes."""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from core.features import FEATURE_DIM


class PrecomputedFeatures(nn.Identity):
    """Lets torchmetrics' FID take features we computed (and cached) once instead of images."""

    num_features = FEATURE_DIM


def frechet_distance(features_a: torch.Tensor, features_b: torch.Tensor) -> float:
    """Fréchet distance between two sets of pooled features (torchmetrics' FID arithmetic, in float64)."""
    from torchmetrics.image.fid import FrechetInceptionDistance

    metric = FrechetInceptionDistance(feature=PrecomputedFeatures())
    metric.update(features_a.double(), real=True)
    metric.update(features_b.double(), real=False)
    return float(metric.compute())


class LinearProbe:
    """Multinomial logistic regression on standardised features, trained with L-BFGS."""

    def __init__(self, classes: list[str]):
        self.classes = classes
        self.index = {c: i for i, c in enumerate(classes)}

    def fit(self, features: torch.Tensor, labels: list[str], weight_decay: float = 1e-3, steps: int = 200) -> "LinearProbe":
        y = torch.tensor([self.index[label] for label in labels])
        self.mean, self.std = features.mean(0), features.std(0) + 1e-6
        x = (features - self.mean) / self.std
        self.linear = nn.Linear(x.shape[1], len(self.classes))
        optimizer = torch.optim.LBFGS(self.linear.parameters(), max_iter=steps, line_search_fn="strong_wolfe")

        def closure():
            optimizer.zero_grad()
            loss = F.cross_entropy(self.linear(x), y) + weight_decay * self.linear.weight.square().sum()
            loss.backward()
            return loss

        optimizer.step(closure)
        return self

    @torch.no_grad()
    def probabilities(self, features: torch.Tensor) -> torch.Tensor:
        """(N, classes) softmax probabilities, columns in the order of `classes`."""
        return self.linear((features - self.mean) / self.std).softmax(1)

    def predict(self, features: torch.Tensor) -> list[str]:
        return [self.classes[i] for i in self.probabilities(features).argmax(1).tolist()]

    def accuracy(self, features: torch.Tensor, labels: list[str]) -> float:
        predicted = self.predict(features)
        return sum(p == t for p, t in zip(predicted, labels)) / max(len(labels), 1)


def kernel_distance(features_a: torch.Tensor, features_b: torch.Tensor, subset_size: int = 1000, subsets: int = 50) -> tuple[float, float]:
    """Kernel (Inception) distance, mean and std over subsets (torchmetrics' KID on our features)."""
    import warnings

    from torchmetrics.image.kid import KernelInceptionDistance

    size = min(subset_size, len(features_a), len(features_b))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torchmetrics warns that it keeps the features: we gave it features
        metric = KernelInceptionDistance(feature=PrecomputedFeatures(), subset_size=size, subsets=subsets)
        metric.update(features_a.double(), real=True)
        metric.update(features_b.double(), real=False)
        mean, std = metric.compute()
    return float(mean), float(std)


def precision_recall(real: torch.Tensor, fake: torch.Tensor, k: int = 3) -> tuple[float, float]:
    """Improved precision and recall (Kynkäänniemi et al. 2019), which torchmetrics lacks: a sample is
    inside a set's manifold if it falls within some member's distance to that member's k-th nearest
    neighbour. Precision = share of fakes inside the real manifold; recall = share of reals inside the fake one."""
    def radii(x):
        d = torch.cdist(x, x)
        return d.kthvalue(k + 1, dim=1).values  # +1: the point itself is at distance 0

    def inside(points, support, support_radii):
        return (torch.cdist(points, support) <= support_radii.unsqueeze(0)).any(1).float().mean()

    real, fake = real.double(), fake.double()
    return float(inside(fake, real, radii(real))), float(inside(real, fake, radii(fake)))


def image_quality(output, target, border: int = 4) -> tuple[float, float]:
    """PSNR (dB) and SSIM of two same-size RGB images (PIL or uint8 arrays), `border` pixels ignored."""
    from torchmetrics.functional.image import peak_signal_noise_ratio, structural_similarity_index_measure

    from core.images import to_tensor

    def tensor(image):
        x = to_tensor(image)[None]
        return x[..., border:x.shape[-2] - border, border:x.shape[-1] - border]

    a, b = tensor(output), tensor(target)
    return float(peak_signal_noise_ratio(a, b, data_range=1.0)), float(structural_similarity_index_measure(a, b, data_range=1.0))


def colour_difference(output, target) -> float:
    """Mean CIE76 ΔE (Euclidean distance in CIELAB, OpenCV's conversion) between two same-size RGB
    images (PIL or uint8 arrays): about 2 is barely visible, above 10 a clearly different colour."""
    import cv2
    import numpy as np

    lab = lambda image: cv2.cvtColor(np.asarray(image, np.float32) / 255, cv2.COLOR_RGB2Lab)
    return float(np.sqrt(np.square(lab(output) - lab(target)).sum(-1)).mean())
