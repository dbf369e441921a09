"""The saddle-points page (8.2.3): random matrices, the spherical spin glass, GD against Newton at saddles.

Three modules, one per part of the page, built on the core:

- `random_matrices`: how rare positive-definite GOE matrices are (the coin-tossing argument);
- `spin_glass`: critical points of the spherical 3-spin glass, their index fraction against energy;
- `saddles`: gradient descent, Newton and saddle-free Newton at a saddle, on the book's toy and a network.

The page's settings are one frozen dataclass, `SADDLE_POINTS` (module `config`), imported by the
page and its claims test. Import them as
``from optbook.saddle_points import SADDLE_POINTS, saddles, random_matrices, spin_glass``.
"""

from . import config, random_matrices, saddles, spin_glass  # noqa: F401
from .config import SADDLE_POINTS, SaddlePointsSetup  # noqa: F401
