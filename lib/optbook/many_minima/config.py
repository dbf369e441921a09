"""The many-minima page's settings, once: the page and its claims test import `MANY_MINIMA`."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ManyMinimaSetup:
    """Every experiment setting of the page "How many minima, how good, how flat?".

    Safran & Shamir (2018) run gradient descent with step 0.1 until every unit's gradient (times
    2 pi) is below 1e-9, 1000 runs per width. We keep their start and their step for the first
    ``slow_steps`` steps (when a run picks its basin) and then take ``fast_lr`` to finish within
    the build's budget; a run counts as converged when its largest unit gradient (times 2 pi) is
    below ``grad_tol``.

    Examples
    --------
    >>> MANY_MINIMA.widths, MANY_MINIMA.lr
    ((6, 8, 10, 12), 0.1)
    """

    widths: tuple[int, ...] = (6, 8, 10, 12)       # k = n: teacher and student widths
    over_widths: tuple[int, ...] = (10, 12)        # k with a student of n = k + 1 units
    restarts: int = 200
    lr: float = 0.1                                 # Safran & Shamir's step
    slow_steps: int = 1000
    fast_lr: float = 0.4
    steps: int = 2500
    record_every: int = 100
    spurious_cost: float = 1e-3                     # their test: F >= 1e-3 at the end is spurious
    grad_tol: float = 1e-6                          # 2 pi max_i |grad_i F| below this: converged
    same_cost: float = 1e-6                         # two minima of one family share F to this
    same_point: float = 1e-4                        # two points closer than this are one minimum
    newton_iterations: int = 6
    rescale_alphas: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0, 4.0)
    curve_points: int = 21                          # t values on the straight line and the curve
    curve_steps: int = 400
    curve_lr: float = 0.5
    early_fraction: float = 0.1                     # "within 10 % of the final cost"
    interval_z: float = 2.576                       # 99 % binomial (Wilson) intervals
    # the digits: a 64-16-10 ReLU network, full-batch gradient descent from many default starts
    digits_width: int = 16
    digits_restarts: int = 20
    digits_lr: float = 0.5
    digits_steps: int = 1200
    digits_record_every: int = 100
    digits_early: int = 400                         # "stopping at a third of the way"

    def digits_kwargs(self) -> dict:
        """Keyword arguments of `digits.digits_restarts` for the page's runs."""
        return dict(width=self.digits_width, restarts=self.digits_restarts, lr=self.digits_lr,
                    steps=self.digits_steps, record_every=self.digits_record_every)

    def descent_kwargs(self) -> dict:
        """Keyword arguments of `teacher_student.descend` for the page's runs."""
        return dict(lr=self.lr, steps=self.steps, record_every=self.record_every,
                    fast_lr=self.fast_lr, fast_from=self.slow_steps)


MANY_MINIMA = ManyMinimaSetup()
