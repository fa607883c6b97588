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
