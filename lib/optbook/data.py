"""Data that needs no download: scikit-learn's handwritten digits and small generated sets."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from ._validate import check_fraction, check_positive, check_positive_int, check_seed


def _check_dtype(dtype: object) -> None:
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"dtype must be a floating-point torch.dtype, got {dtype!r}")


@dataclass(frozen=True)
class Split:
    """A train/validation split; targets are class indices (or one-hot rows, see `one_hot`)."""

    x_train: Tensor
    y_train: Tensor
    x_val: Tensor
    y_val: Tensor

    @property
    def n_features(self) -> int:
        return self.x_train.shape[1]

    @property
    def n_classes(self) -> int:
        y = self.y_train
        return y.shape[1] if y.dim() == 2 else int(y.max()) + 1

    def one_hot(self) -> "Split":
        """The same split with one-hot float targets (for squared-error losses)."""
        k = self.n_classes
        dtype = self.x_train.dtype
        return Split(
            self.x_train,
            torch.nn.functional.one_hot(self.y_train, k).to(dtype),
            self.x_val,
            torch.nn.functional.one_hot(self.y_val, k).to(dtype),
        )


def digits(val_fraction: float = 0.3, seed: int = 0, dtype: torch.dtype = torch.float32) -> Split:
    """The 1,797 8x8 digits from scikit-learn, pixels scaled to [0, 1] and centred on the train mean.

    The split is a fixed random permutation drawn from ``seed`` (default 0: 1,257 train, 540
    validation images).
    """
    from sklearn.datasets import load_digits

    check_fraction("val_fraction", val_fraction)
    check_seed("seed", seed)
    _check_dtype(dtype)
    raw = load_digits()
    x = torch.tensor(raw.data, dtype=torch.float64) / 16.0
    y = torch.tensor(raw.target, dtype=torch.long)
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))
    n_val = int(round(val_fraction * len(y)))
    val, train = order[:n_val], order[n_val:]
    mean = x[train].mean(0)
    x = (x - mean).to(dtype)
    return Split(x[train], y[train], x[val], y[val])


def blobs(
    n: int = 300,
    n_features: int = 2,
    n_classes: int = 3,
    spread: float = 0.5,
    seed: int = 0,
    dtype: torch.dtype = torch.float32,
) -> Split:
    """Gaussian clusters around random unit-norm centres; half train, half validation."""
    check_positive_int("n", n, minimum=2)
    check_positive_int("n_features", n_features)
    check_positive_int("n_classes", n_classes, minimum=2)
    check_positive("spread", spread)
    check_seed("seed", seed)
    _check_dtype(dtype)
    g = torch.Generator().manual_seed(seed)
    centres = torch.randn(n_classes, n_features, generator=g, dtype=torch.float64)
    centres /= centres.norm(dim=1, keepdim=True)
    y = torch.arange(n) % n_classes
    x = centres[y] + spread * torch.randn(n, n_features, generator=g, dtype=torch.float64)
    order = torch.randperm(n, generator=g)
    train, val = order[: n // 2], order[n // 2 :]
    x = x.to(dtype)
    return Split(x[train], y[train], x[val], y[val])


def xor(dtype: torch.dtype = torch.float64) -> tuple[Tensor, Tensor]:
    """The four XOR points in {0,1}^2 with labels 0/1 (Swirszcz et al. 2016, Table 1)."""
    x = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], dtype=dtype)
    return x, torch.tensor([0.0, 1.0, 1.0, 0.0], dtype=dtype)


def jellyfish(dtype: torch.dtype = torch.float64) -> tuple[Tensor, Tensor]:
    """Swirszcz et al.'s four-point 'jellyfish' set: positives (1,0),(0.2,0.6); negatives (0,1),(0.6,0.2)."""
    x = torch.tensor([[1.0, 0.0], [0.2, 0.6], [0.0, 1.0], [0.6, 0.2]], dtype=dtype)
    return x, torch.tensor([1.0, 1.0, 0.0, 0.0], dtype=dtype)
