"""Data that needs no download: scikit-learn's handwritten digits and small generated sets."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from ._validate import check_float_dtype, check_fraction, check_positive, check_positive_int, check_seed


@dataclass(frozen=True)
class Split:
    """A train/validation split; targets are class indices (or one-hot rows, see `one_hot`).

    Attributes
    ----------
    x_train : Tensor, shape (N_train, F)
        Training inputs, one example per row.
    y_train : Tensor, shape (N_train,) of long, or (N_train, C)
        Training class indices, or one-hot rows.
    x_val : Tensor, shape (N_val, F)
        Validation inputs.
    y_val : Tensor, shape (N_val,) of long, or (N_val, C)
        Validation targets, like ``y_train``.

    Examples
    --------
    >>> import torch
    >>> import optbook as ob
    >>> split = ob.blobs(n=12, n_features=2, n_classes=3, dtype=torch.float64)
    >>> split.x_train.shape, split.x_val.shape, split.y_train.dtype
    (torch.Size([6, 2]), torch.Size([6, 2]), torch.int64)
    """

    x_train: Tensor
    y_train: Tensor
    x_val: Tensor
    y_val: Tensor

    @property
    def n_features(self) -> int:
        """F, the number of input features (columns of ``x_train``).

        Examples
        --------
        >>> import optbook as ob
        >>> ob.blobs(n=12, n_features=5).n_features
        5
        """
        return self.x_train.shape[1]

    @property
    def n_classes(self) -> int:
        """C, the number of classes: one-hot width, or the largest training label plus one.

        Examples
        --------
        >>> import optbook as ob
        >>> split = ob.blobs(n=12, n_classes=3)
        >>> split.n_classes, split.one_hot().n_classes
        (3, 3)
        """
        y = self.y_train
        return y.shape[1] if y.dim() == 2 else int(y.max()) + 1

    def one_hot(self) -> "Split":
        """The same split with one-hot float targets (for squared-error losses).

        Returns
        -------
        Split
            Same inputs; targets of shape (N, C) in the inputs' dtype. Needs index targets.

        Examples
        --------
        >>> import torch
        >>> import optbook as ob
        >>> split = ob.blobs(n=12, n_classes=3, dtype=torch.float64)
        >>> hot = split.one_hot()
        >>> hot.y_train.shape, hot.y_train.dtype, torch.equal(hot.y_train.argmax(1), split.y_train)
        (torch.Size([6, 3]), torch.float64, True)
        """
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

    The split is a fixed random permutation drawn from ``seed`` (with the default
    ``val_fraction=0.3``: 1,258 train, 539 validation images).

    Parameters
    ----------
    val_fraction : float, optional
        Fraction of the images held out for validation, in (0, 1) (default 0.3; rounded).
    seed : int, optional
        Seeds the permutation (default 0).
    dtype : torch.dtype, optional
        Floating-point dtype of the inputs (default ``torch.float32``).

    Returns
    -------
    Split
        Inputs of shape (N, 64), 8x8 images flattened row by row; targets are class indices 0-9
        (``torch.long``).

    Raises
    ------
    TypeError
        If ``val_fraction`` is not a number, ``seed`` not an integer, or ``dtype`` not a
        floating-point dtype.
    ValueError
        If ``val_fraction`` is not in (0, 1) or ``seed`` < 0.

    Examples
    --------
    >>> import optbook as ob
    >>> split = ob.digits()
    >>> tuple(split.x_train.shape), tuple(split.x_val.shape), split.n_classes
    ((1258, 64), (539, 64), 10)
    >>> abs(float(split.x_train.mean(0).abs().max())) < 1e-6  # centred on the train mean
    True
    """
    from sklearn.datasets import load_digits

    check_fraction("val_fraction", val_fraction)
    check_seed("seed", seed)
    check_float_dtype("dtype", dtype)
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
    """Gaussian clusters around random unit-norm centres; half train, half validation.

    Point i belongs to class ``i % n_classes``; its inputs are the class centre plus Gaussian noise
    of standard deviation ``spread`` in each feature; the points are then shuffled.

    Parameters
    ----------
    n : int, optional
        Number of points, >= 2 (default 300); ``n // 2`` train, the rest validation.
    n_features : int, optional
        Input dimension, >= 1 (default 2).
    n_classes : int, optional
        Number of clusters, >= 2 (default 3).
    spread : float, optional
        Noise standard deviation, > 0 (default 0.5).
    seed : int, optional
        Seeds centres, noise and shuffle (default 0).
    dtype : torch.dtype, optional
        Floating-point dtype of the inputs (default ``torch.float32``).

    Returns
    -------
    Split
        Inputs of shape (n // 2, n_features) and (n - n // 2, n_features); class-index targets.

    Raises
    ------
    TypeError
        If an integer argument is not an integer, ``spread`` not a number, or ``dtype`` not a
        floating-point dtype.
    ValueError
        If ``n`` < 2, ``n_features`` < 1, ``n_classes`` < 2, ``spread`` <= 0 or ``seed`` < 0.

    Examples
    --------
    >>> import torch
    >>> import optbook as ob
    >>> split = ob.blobs(n=11, n_features=4, n_classes=3, seed=1)
    >>> tuple(split.x_train.shape), tuple(split.x_val.shape), split.n_classes
    ((5, 4), (6, 4), 3)
    >>> torch.equal(split.x_train, ob.blobs(n=11, n_features=4, n_classes=3, seed=1).x_train)  # seeded
    True
    """
    check_positive_int("n", n, minimum=2)
    check_positive_int("n_features", n_features)
    check_positive_int("n_classes", n_classes, minimum=2)
    check_positive("spread", spread)
    check_seed("seed", seed)
    check_float_dtype("dtype", dtype)
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
    """The four XOR points in {0,1}^2 with labels 0/1 (Swirszcz et al. 2016, Table 1).

    Parameters
    ----------
    dtype : torch.dtype, optional
        Dtype of inputs and labels (default ``torch.float64``).

    Returns
    -------
    x : Tensor, shape (4, 2)
        The points (0,0), (0,1), (1,0), (1,1).
    y : Tensor, shape (4,)
        Their labels 0, 1, 1, 0 as floats.

    References
    ----------
    .. [1] G. Swirszcz, W. M. Czarnecki and R. Pascanu, "Local minima in training of neural
       networks", 2016 (``swirszcz2016local``).

    Examples
    --------
    >>> import optbook as ob
    >>> x, y = ob.xor()
    >>> x.tolist(), y.tolist()
    ([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], [0.0, 1.0, 1.0, 0.0])
    """
    x = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], dtype=dtype)
    return x, torch.tensor([0.0, 1.0, 1.0, 0.0], dtype=dtype)


def jellyfish(dtype: torch.dtype = torch.float64) -> tuple[Tensor, Tensor]:
    """Swirszcz et al.'s four-point 'jellyfish' set: positives (1,0),(0.2,0.6); negatives (0,1),(0.6,0.2).

    Parameters
    ----------
    dtype : torch.dtype, optional
        Dtype of inputs and labels (default ``torch.float64``).

    Returns
    -------
    x : Tensor, shape (4, 2)
        The points, positives first.
    y : Tensor, shape (4,)
        Their labels 1, 1, 0, 0 as floats.

    References
    ----------
    .. [1] G. Swirszcz, W. M. Czarnecki and R. Pascanu, "Local minima in training of neural
       networks", 2016 (``swirszcz2016local``).

    Examples
    --------
    >>> import optbook as ob
    >>> x, y = ob.jellyfish()
    >>> x[y == 1].tolist()
    [[1.0, 0.0], [0.2, 0.6]]
    """
    x = torch.tensor([[1.0, 0.0], [0.2, 0.6], [0.0, 1.0], [0.6, 0.2]], dtype=dtype)
    return x, torch.tensor([1.0, 1.0, 0.0, 0.0], dtype=dtype)
