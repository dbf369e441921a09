"""Live toy widgets: the book's two-dimensional problems computed in the browser, no kernel needed.

`live_quadratic` (gradient descent, heavy-ball momentum and Newton's method on an ill-conditioned
quadratic) and `live_saddle` (gradient descent, Newton and saddle-free Newton on x1^2 - x2^2) return
an HTML output with continuous sliders. The arithmetic runs in JavaScript (``live_toys.js``) from the
same formulas as `optbook.ill_conditioning.quadratic` and `optbook.saddle_points.saddles`; a browser
test compares the two. The network experiments keep their pre-rendered frames
(`optbook.figures.interactive_figure`): they are too large to run in a page.
"""

from __future__ import annotations

import html
import json
import math
from functools import lru_cache
from importlib import resources

QUADRATIC_METHODS = ("gd", "momentum", "tuned", "newton")
SADDLE_METHODS = ("gradient descent", "Newton", "saddle-free Newton")


_STYLE = """<style>
.optbook-live { margin: 0.5em 0 1em; }
.optbook-live-controls { display: grid; grid-template-columns: repeat(auto-fill, minmax(15em, 1fr)); gap: 0.3em 1.2em; }
.optbook-live-control { display: grid; grid-template-columns: 1fr; font-size: 0.9em; }
.optbook-live-control input[type=range], .optbook-live-control select { width: 100%; max-width: 100%; }
.optbook-live-control output { font-variant-numeric: tabular-nums; opacity: 0.85; }
.optbook-live-panels { display: flex; flex-wrap: wrap; gap: 0.5em; margin-top: 0.5em; }
.optbook-live-panels canvas { flex: 1 1 300px; min-width: 0; width: 100%; }
.optbook-live-readout { font-size: 0.9em; min-height: 3em; }
</style>"""


@lru_cache(maxsize=1)
def _script() -> str:
    return resources.files("optbook.figures").joinpath("live_toys.js").read_text(encoding="utf-8")


def _number(name: str, value: object, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    if not math.isfinite(value) or not low <= value <= high:
        raise ValueError(f"{name} must lie in [{low:g}, {high:g}], got {value!r}")
    return float(value)


def _steps(value: object, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"steps must be an int, got {type(value).__name__}")
    if not 1 <= value <= high:
        raise ValueError(f"steps must lie in [1, {high}], got {value}")
    return value


class LiveToy:
    """A displayable live widget: HTML with its script, for Jupyter, Colab and the book's pages.

    Attributes
    ----------
    toy : {"quadratic", "saddle"}
        Which problem.
    config : dict
        The starting values of its controls.
    """

    def __init__(self, toy: str, config: dict, label: str):
        self.toy, self.config, self.label = toy, config, label

    def html(self) -> str:
        """The widget's HTML: a container, a fallback for readers without JavaScript, and the script."""
        return (f'<div class="optbook-live" data-toy="{self.toy}" role="group" aria-label="{html.escape(self.label)}" '
                f"data-config='{html.escape(json.dumps(self.config), quote=True)}'>"
                f"<noscript>This live figure needs JavaScript.</noscript></div>\n{_STYLE}\n<script>{_script()}</script>")

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict[str, str]:
        return {"text/html": self.html(), "text/plain": f"<live {self.toy} figure>"}


def live_quadratic(*, kappa: float = 10.0, method: str = "gd", lr: float = 0.18, momentum: float = 0.5,
                   start_degrees: float = 30.0, steps: int = 40, angle: float = 0.0) -> LiveToy:
    """Gradient descent, momentum or Newton on 1/2 x^T H x in the browser, with continuous sliders.

    H has eigenvalues 1/kappa and 1 (lambda_max = 1, so gradient descent is stable for eps < 2),
    rotated by ``angle``; the start is the unit vector at ``start_degrees`` from the flat axis.

    Parameters
    ----------
    kappa : float, optional
        Condition number in [1, 1000] (default 10).
    method : {"gd", "momentum", "tuned", "newton"}, optional
        Default ``"gd"``; ``"tuned"`` is heavy-ball momentum with Polyak's tuned beta for ``kappa``
        and the slider's step.
    lr : float, optional
        Step size eps in [0.001, 3] (default 0.18).
    momentum : float, optional
        Heavy-ball coefficient beta in [0, 0.99] (default 0.5).
    start_degrees : float, optional
        Direction of the start in [0, 90] degrees (default 30).
    steps : int, optional
        Iterations in [1, 300] (default 40).
    angle : float, optional
        Rotation of H's eigenvectors in radians, in [-pi, pi] (default 0); not a slider.

    Returns
    -------
    LiveToy
        Displays itself in a notebook (``_repr_mimebundle_``) and on the book's pages.

    Raises
    ------
    TypeError, ValueError
        If an argument has the wrong type or lies outside its range.

    References
    ----------
    .. [1] B. T. Polyak, "Some methods of speeding up the convergence of iteration methods", 1964
       (``polyak1964some``); G. Goh, "Why momentum really works", Distill, 2017 (``goh2017momentum``).

    Examples
    --------
    >>> toy = live_quadratic(kappa=100.0, method="momentum")
    >>> toy.config["kappa"], 'data-toy="quadratic"' in toy.html()
    (100.0, True)
    """
    if method not in QUADRATIC_METHODS:
        raise ValueError(f"method must be one of {QUADRATIC_METHODS}, got {method!r}")
    config = {"kappa": _number("kappa", kappa, 1.0, 1000.0), "method": method, "lr": _number("lr", lr, 0.001, 3.0),
              "momentum": _number("momentum", momentum, 0.0, 0.99),
              "start": _number("start_degrees", start_degrees, 0.0, 90.0), "steps": _steps(steps, 300),
              "angle": _number("angle", angle, -math.pi, math.pi)}
    return LiveToy("quadratic", config, "Live figure: optimizers on an ill-conditioned quadratic")


def live_saddle(*, method: str = "gradient descent", lr: float = 0.1, start_x2: float = 1e-3, noise: float = 0.0,
                steps: int = 40) -> LiveToy:
    """Gradient descent, Newton or saddle-free Newton on x1^2 - x2^2 in the browser, from two starts.

    The runs start at (1.5, start_x2) and (-1.2, -start_x2 / 2), as the page's frames do.

    Parameters
    ----------
    method : {"gradient descent", "Newton", "saddle-free Newton"}, optional
        Default ``"gradient descent"``.
    lr : float, optional
        Step size eps in [0.01, 1.5] (default 0.1; gradient descent diverges above 1).
    start_x2 : float, optional
        Distance of the starts from the ridge x2 = 0: 0 or in [1e-9, 1] (default 1e-3).
    noise : float, optional
        Standard deviation of the Gaussian noise added after each step, in [0, 0.1] (default 0).
    steps : int, optional
        Steps in [1, 150] (default 40).

    Returns
    -------
    LiveToy

    Raises
    ------
    TypeError, ValueError
        If an argument has the wrong type or lies outside its range.

    References
    ----------
    .. [1] Y. Dauphin et al., "Identifying and attacking the saddle point problem in high-dimensional
       non-convex optimization", NeurIPS 2014 (``dauphin2014identifying``).

    Examples
    --------
    >>> live_saddle(method="Newton", lr=1.0).config["method"]
    'Newton'
    """
    if method not in SADDLE_METHODS:
        raise ValueError(f"method must be one of {SADDLE_METHODS}, got {method!r}")
    config = {"method": method, "lr": _number("lr", lr, 0.01, 1.5), "start_x2": 0.0 if start_x2 == 0 and not isinstance(start_x2, bool) else _number("start_x2", start_x2, 1e-9, 1.0),
              "noise": _number("noise", noise, 0.0, 0.1), "steps": _steps(steps, 150)}
    return LiveToy("saddle", config, "Live figure: gradient descent, Newton and saddle-free Newton at a saddle")
