"""The local-minima page's settings, once: the page and its claims test import `LOCAL_MINIMA`."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Table1Setup:
    """The settings of the page's repetition of Swirszcz et al.'s Table 1 (the paper does not state its own).

    The paper gives the network (2-h-1, h = 2..7), the data (XOR, jellyfish), the two optimizers and
    what counts as success (zero training error); not the initialization, the step sizes, the
    number of steps or the number of runs behind each percentage.
    """

    hidden: tuple[int, ...] = (2, 3, 4, 5, 6, 7)
    starts: int = 200
    steps: int = 2000
    lr_gd: float = 0.5
    lr_adam: float = 0.01
    # the step-size check: gradient descent at a smaller step, run longer so that it finishes too
    small_lr_gd: float = 0.1
    small_lr_steps: int = 10000
    # sigmoid hidden units learn more slowly: the same step sizes, run longer
    sigmoid_steps: int = 10000

    def lr(self, optimizer: str) -> float:
        """The step size used for ``optimizer`` ("gd" or "adam")."""
        if optimizer not in ("gd", "adam"):
            raise ValueError(f"optimizer must be 'gd' or 'adam', got {optimizer!r}")
        return self.lr_gd if optimizer == "gd" else self.lr_adam


@dataclass(frozen=True)
class LocalMinimaSetup:
    """Every experiment setting of the local-minima page (8.2.2); Table 1's in ``table1``.

    Examples
    --------
    >>> LOCAL_MINIMA.net_sizes, LOCAL_MINIMA.table1.lr("adam")
    ((64, 16, 10), 0.01)
    """

    convex_restarts: int = 8        # logistic regression starts
    weight_decay: float = 0.01
    convex_steps: int = 300
    net_sizes: tuple[int, ...] = (64, 16, 10)   # the small ReLU network of sections 1-3
    net_runs: int = 8
    net_lr: float = 0.5
    net_steps: int = 300
    widths: tuple[int, ...] = (2, 4, 8, 16, 32, 64)   # the restarts of section 6
    restarts: int = 30
    restart_steps: int = 250
    restart_lr: float = 0.5
    momentum: float = 0.9
    # the rescaling symmetry: the factors alpha applied to one hidden unit
    rescale_alphas: tuple[float, ...] = (0.1, 0.2, 1 / 3, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0)
    # bad minima: gradient descent on the sigmoid unit and on the one-ReLU regression (D1)
    sigmoid_unit_lr: float = 0.3
    sigmoid_unit_steps: int = 3000
    one_relu_starts: int = 400
    one_relu_lr: float = 0.002
    one_relu_steps: int = 4000
    one_relu_scale: float = 1.0
    # the negative test: a run that converges (blobs) and one that does not (digits, large step)
    blobs_sizes: tuple[int, ...] = (2, 16, 3)
    blobs_lr: float = 0.5
    blobs_epochs: int = 600
    digits_sizes: tuple[int, ...] = (64, 32, 10)
    digits_lr: float = 1.0
    digits_epochs: int = 500
    table1: Table1Setup = field(default_factory=Table1Setup)

    def one_relu_kwargs(self) -> dict:
        """Keyword arguments of `bad_minima.one_relu_descent` for the page's runs."""
        return dict(starts=self.one_relu_starts, lr=self.one_relu_lr, steps=self.one_relu_steps,
                    scale=self.one_relu_scale)

    def restart_kwargs(self, **changes) -> dict:
        """Keyword arguments of `train_restarts` for the page's width sweep (``changes`` override them)."""
        return dict(dict(widths=self.widths, restarts=self.restarts, steps=self.restart_steps,
                         lr=self.restart_lr, momentum=self.momentum), **changes)


LOCAL_MINIMA = LocalMinimaSetup()
