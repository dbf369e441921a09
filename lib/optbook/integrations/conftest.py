"""pytest: leave out the doctests of an integration whose package is not installed (they are optional extras)."""

import importlib.util

collect_ignore = [f"{name}.py" for name in ("lightning", "tensorboard") if importlib.util.find_spec(name) is None]
