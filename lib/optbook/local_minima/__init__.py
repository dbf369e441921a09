"""The local-minima page (8.2.2): weight-space symmetries, bad local minima, many restarts.

- `symmetry`: permutations and rescalings that leave a network's function unchanged, the (n!)^m
  count, the one-unit hyperbola and what weight decay does to it;
- `bad_minima`: small problems with provably bad local minima (a sigmoid unit, a one-unit ReLU
  net) and Swirszcz et al.'s Table 1, with the paper's numbers (`PAPER_TABLE1`);
- `restarts`: many restarts of small networks on the digits, batched, against width.

The page's settings are one frozen dataclass, `LOCAL_MINIMA` (module `config`; Table 1's in
``LOCAL_MINIMA.table1``), imported by the page and its claims test.

Import them as
``from optbook.local_minima import LOCAL_MINIMA, bad_minima as bm, restarts as rs, symmetry as sym``.
"""

from . import bad_minima, config, restarts, symmetry  # noqa: F401
from .config import LOCAL_MINIMA, LocalMinimaSetup, Table1Setup  # noqa: F401
