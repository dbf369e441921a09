"""optbook: the science behind the executable book on sec. 8.2.1-8.2.3 of *Deep Learning*.

Import it as ``import optbook as ob``. The names below are the core, what any reader or
practitioner uses on a model of their own; read the modules in this order:

- `params`: a model's parameters as one flat vector theta, its cost as a pure function J(theta)
- `losses`: squared error and cross-entropy
- `curvature`: the gradient, Hessian-vector products, the dense Hessian, eq. 8.10's g^T g and g^T H g
- `spectrum`: Lanczos at both ends, dense eigenvalues, Hutchinson's trace, the index, the spectral
  density by stochastic Lanczos quadrature
- `estimates`: curvature per layer (Hessian blocks) and over a whole DataLoader, with standard errors
- `batched`: the batched evaluator, many parameter vectors of one model in one pass
- `runs`: `Runs`, the one record of runs over time (steps, cost, gradient norm, parameters)
- `training`: training with a record; many runs trained at once; running averages
- `landscape`: planes, straight lines, barriers, random directions, the plane of a training path
- `monitor`, `diagnose`: a curvature monitor for any PyTorch loop, and plain-language verdicts
- `data`, `models`: the digits and small generated sets; seeded small networks

The figures layer, `optbook.figures` (the only importer of matplotlib), gives the book's style,
`glue` and the interactive figures; its main names are re-exported here. Each page of the book has
a package of its own with its experiments and settings (`optbook.ill_conditioning`,
`optbook.local_minima`, `optbook.many_minima`, `optbook.saddle_points`, `optbook.linear_networks`,
`optbook.flat_regions`, `optbook.diagnosing`); the core never imports them.
"""

import torch as _torch

from . import (batched, curvature, data, diagnose, estimates, figures, landscape, losses, models, monitor, params, runs,
               spectrum, training)
from ._validate import check_positive_int as _check_positive_int
from .batched import batched_loss
from .curvature import (
    GradientCurvature,
    HessianOperator,
    actual_change,
    default_hvp_method,
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
    progress_test,
)
from .figures import BlitPlot, glue, interactive_figure, report_figure, use_book_style
from .landscape import barrier_height, interpolate, loss_plane, random_directions, trajectory_plane
from .losses import classification_error, cross_entropy, squared_error
from .models import mlp
from .monitor import MonitorRecord, StabilityRule, TrainingMonitor, stability_rule
from .params import functional_loss, get_flat_params, n_params, set_flat_params, temporary_params, unflatten
from .estimates import DatasetCurvature, Estimate, LayerCurvature, dataset_curvature, layer_curvature
from .spectrum import (
    SpectralDensity,
    Spectrum,
    hessian_density,
    hessian_eigenvalues,
    hessian_extremes,
    hutchinson_trace,
    index_fraction,
    lanczos,
    morse_index,
    slq_density,
    top_eigenvalue,
)
from .runs import Runs
from .training import History, gradient_descent_many, running_average, train

__version__ = "0.1.0"

__all__ = [
    # parameters and the cost
    "functional_loss", "get_flat_params", "set_flat_params", "n_params", "temporary_params", "unflatten",
    "cross_entropy", "squared_error", "classification_error",
    # curvature and spectra
    "gradient", "hvp", "functional_hvp", "default_hvp_method", "HessianOperator", "hessian",
    "gradient_curvature", "GradientCurvature", "predicted_change", "actual_change",
    "lanczos", "Spectrum", "hessian_extremes", "top_eigenvalue", "hessian_eigenvalues", "hutchinson_trace",
    "morse_index", "index_fraction", "slq_density", "hessian_density", "SpectralDensity",
    "layer_curvature", "LayerCurvature", "dataset_curvature", "DatasetCurvature", "Estimate",
    # many parameter vectors, training, landscapes
    "batched_loss", "train", "History", "gradient_descent_many", "Runs", "running_average",
    "loss_plane", "interpolate", "barrier_height", "random_directions", "trajectory_plane",
    # monitoring and diagnosis
    "TrainingMonitor", "MonitorRecord", "stability_rule", "StabilityRule", "diagnose_training", "Diagnosis", "Verdict", "critical_point_test",
    "progress_test", "ill_conditioning_test", "negative_curvature_test",
    # data and models
    "digits", "blobs", "xor", "jellyfish", "Split", "mlp",
    # figures and notebooks
    "glue", "interactive_figure", "BlitPlot", "report_figure", "use_book_style", "set_threads", "setup_notebook",
    # modules
    "params", "losses", "curvature", "spectrum", "estimates", "batched", "runs", "training", "landscape", "monitor",
    "diagnose", "data", "models", "figures",
]


def set_threads(n: int = 1) -> None:
    """Pin torch's intra-op threads: on a 2-core machine an unpinned count stalls small ops 10-100x.

    Examples
    --------
    >>> set_threads(1)
    >>> import torch
    >>> torch.get_num_threads()
    1
    """
    _torch.set_num_threads(_check_positive_int("n", n))


def setup_notebook(seed: int = 0, threads: int = 1) -> None:
    """What every chapter does first: pin threads, seed torch, apply the book's figure style."""
    set_threads(threads)
    _torch.manual_seed(seed)
    use_book_style()
