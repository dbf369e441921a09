"""The ill-conditioning page (8.2.1): ill-conditioned quadratics, and Figure 8.1 at the edge of stability.

- `quadratic`: gradient descent, heavy-ball momentum and Newton's method on 2-D quadratics, with
  the rates and the verdicts that theory gives;
- `sharpening`: the page's network runs (an MLP and a small CNN on the digits) with the curvature
  monitors of eq. 8.10, and their settings (`MLP_RUN`, `CNN_RUN`, `SMALL_LR`, `SGD_RUN`).

Import them as ``from optbook.ill_conditioning import quadratic as Q, sharpening as S``.
"""

from . import quadratic, sharpening  # noqa: F401
