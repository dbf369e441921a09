"""The flat-regions page (8.2.3): Figure 8.2, the plateau of saturated units, the spectrum after training.

Import it as ``from optbook import flat_regions as fr``; the planes, lines and paths it draws on are
the core's (`optbook.landscape`).
"""

from .experiments import *  # noqa: F401,F403
from .experiments import __all__  # noqa: F401
