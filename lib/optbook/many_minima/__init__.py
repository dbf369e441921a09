"""The page "How many minima, how good, how flat?": the essay's three assumptions, measured.

- `teacher_student`: Safran & Shamir's (2018) two-layer ReLU teacher-student problem with Gaussian
  inputs in closed form (cost, gradient, exact Hessian), gradient descent on hundreds of students
  in one tensor, a Newton polish;
- `minima`: what the runs found: spurious or global, distinct minima after the units' permutations,
  families, the Hessian check, the paper's numbers (`PAPER_RATES`), binomial intervals, the
  rescaling caveat of Dinh et al. (2017), straight lines and Bezier curves between minima.

The page's settings are one frozen dataclass, `MANY_MINIMA`, imported by the page and its claims
test. Import them as ``from optbook.many_minima import MANY_MINIMA, minima as mm, teacher_student as ts``.
"""

from . import config, digits, minima, teacher_student  # noqa: F401
from .config import MANY_MINIMA, ManyMinimaSetup  # noqa: F401
