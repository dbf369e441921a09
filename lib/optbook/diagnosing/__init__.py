"""The diagnosing page: the example loop and the known-answer cases its report is calibrated on.

Import it as ``from optbook import diagnosing``; the monitor and the report themselves are the
core's (`optbook.TrainingMonitor`, `optbook.diagnose_training`).
"""

from .examples import EDGE_RUNS, KNOWN_ANSWERS, ExampleRun, known_answer_runs, train_digits_mlp  # noqa: F401
from .optimizers import LIMIT_CASES, LimitCheck, limit_checks, optimizer_runs, verdict_line, whole_data_curvature, widget_runs  # noqa: F401
from .settings import DIAGNOSING, DiagnosingSettings  # noqa: F401
from .widget import monitor_widget_plot  # noqa: F401

__all__ = ["DIAGNOSING", "DiagnosingSettings", "EDGE_RUNS", "ExampleRun", "KNOWN_ANSWERS", "LIMIT_CASES", "LimitCheck",
           "known_answer_runs", "limit_checks", "monitor_widget_plot", "optimizer_runs", "train_digits_mlp",
           "verdict_line", "whole_data_curvature", "widget_runs"]
