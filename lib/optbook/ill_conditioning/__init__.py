"""The ill-conditioning page (8.2.1): ill-conditioned quadratics, and Figure 8.1 at the edge of stability.

- `quadratic`: gradient descent, heavy-ball momentum and Newton's method on 2-D quadratics, with
  the rates and the verdicts that theory gives;
- `minibatch`: Figure 8.1 in the book's regime, minibatch SGD on digits distorted afresh every
  epoch (an endless stream), its settings `SETTINGS` and the shape criteria `SHAPE`;
- `sharpening`: the page's network runs (an MLP and a small CNN on the digits) with the curvature
  monitors of eq. 8.10, and their settings (`MLP_RUN`, `CNN_RUN`, `SMALL_LR`, `SGD_RUN`).

Import them as ``from optbook.ill_conditioning import quadratic as Q, sharpening as S, minibatch as M``.
"""

from . import minibatch, quadratic, sharpening  # noqa: F401
