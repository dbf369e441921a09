"""optbook: the science behind the book's chapters on sec. 8.2.1-8.2.3 of *Deep Learning*.

Import it as ``import optbook as ob``. One module per concept:

- ``params``: a model's parameters as one flat vector and its cost as a pure function J(theta)
- ``curvature``: gradients, exact Hessian-vector products, eq. 8.10's g^T g and g^T H g
- ``spectrum``: Lanczos, dense eigenvalues, Hutchinson's trace, the Morse index
- ``training``: training loops that record what the chapters plot; many runs trained at once
- ``batched``: many parameter vectors of one small MLP evaluated in one pass (restarts, planes)
- ``data``, ``models``: the digits and small generated sets; seeded small networks
- ``diagnose``: plain-language verdicts from a training record
- ``widgets``, ``plotting``, ``publish``: interactive figures that also work without a kernel; the
  book style; numbers and figures glued into the prose
"""

from __future__ import annotations

import torch

from . import batched, curvature, data, diagnose, figures, landscape, losses, models, monitor, params, spectrum, training
from .curvature import (
    GradientCurvature,
    HessianOperator,
    actual_change,
    functional_hvp,
    gradient,
    gradient_curvature,
    hessian,
    hvp,
    predicted_change,
)
from .data import Split, blobs, digits, jellyfish, xor
from .diagnose import (
    Diagnosis,
    Verdict,
    critical_point_test,
    diagnose_training,
    ill_conditioning_test,
    negative_curvature_test,
)
from .models import mlp
from .batched import batched_loss
from .params import (
    functional_loss,
    get_flat_params,
    num_params,
    set_flat_params,
    temporary_params,
    unflatten,
)
from .spectrum import (
    Spectrum,
    hessian_eigenvalues,
    hessian_extremes,
    hutchinson_trace,
    lanczos,
    index_fraction,
    morse_index,
    top_eigenvalue,
)
from .training import (
    History,
    ManyRuns,
    classification_error,
    cross_entropy,
    gradient_descent_many,
    running_average,
    squared_error,
    train,
)
from .figures import BlitPlot, glue, interactive_figure, report_figure, use_book_style

# Chapter modules (each chapter's issue adds its line here):
from .monitor import MonitorRecord, TrainingMonitor
from . import landscape  # 8.2.3 Figure 8.2 and flat regions (ob.landscape.*; the four below also as ob.*)
from .landscape import interpolate, loss_plane, random_directions, trajectory_plane
from . import bad_minima, restarts, symmetry  # 8.2.2 local minima (ob.symmetry.*, ob.bad_minima.*, ob.restarts.*)

__version__ = "0.1.0"


def set_threads(n: int = 1) -> None:
    """Pin torch's intra-op threads: on a 2-core machine an unpinned count stalls small ops 10-100x."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    torch.set_num_threads(n)


def setup_notebook(seed: int = 0, threads: int = 1) -> None:
    """What every chapter does first: pin threads, seed torch, apply the book's figure style."""
    set_threads(threads)
    torch.manual_seed(seed)
    use_book_style()
