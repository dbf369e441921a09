"""The linear-networks page (8.2.3): Baldi & Hornik's autoencoder, Saxe et al.'s learning dynamics.

The page's experiments and settings, built on the core (`optbook.curvature`, `optbook.training`).
Import it as ``from optbook import linear_networks as ln``. The page's settings are one frozen
dataclass, `ln.LINEAR_NETWORKS`, imported by the page and by its claims test.
"""

from .config import LINEAR_NETWORKS, LinearNetworksSetup  # noqa: F401

from .deep_linear import *  # noqa: F401,F403 (the page's names, listed in deep_linear.__all__)
from .deep_linear import __all__ as _page_names

__all__ = ["LINEAR_NETWORKS", "LinearNetworksSetup", *_page_names]
