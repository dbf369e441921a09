"""Unit tests for optbook.diagnose: each test's thresholds, its wording, and loud failures."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest

import optbook as ob
from optbook.diagnose import (
    BEST_STEP_RATIO,
    NEGATIVE_CURVATURE,
    STABILITY_FRACTION,
    critical_point_test,
    diagnose_training,
    ill_conditioning_test,
    negative_curvature_test,
    progress_test,
)
from optbook.figures import report_figure
from optbook.monitor import MonitorRecord


def _record(ratios, grad_norms, lambda_max=(), lambda_min=(), lr=0.1, every=10, eigen_every=50) -> MonitorRecord:
    n = len(ratios)
    steps = list(range(n * every))
    eigen_steps = [eigen_every * (i + 1) for i in range(len(lambda_max))]
    return MonitorRecord(
        steps=steps, loss=[1.0] * len(steps), grad_norm=[1.0] * len(steps),
        probe_steps=[every * i for i in range(n)], probe_loss=[1.0] * n, probe_grad_norm=list(grad_norms),
        gTg=[g**2 for g in grad_norms], gTHg=[1.0] * n, lr=[lr] * n, limit=[2 / lr] * n, ratio=list(ratios),
        eigen_steps=eigen_steps, lambda_max=list(lambda_max), lambda_min=list(lambda_min),
        eigen_lr=[lr] * len(lambda_max), eigen_limit=[2 / lr] * len(lambda_max), sharpness=list(lambda_max),
        stability=[lr * x / 2 for x in lambda_max],
    )


def test_critical_point_test_keeps_its_meaning():
    assert critical_point_test([1.0, 0.5, 0.1, 0.001, 0.001, 0.001, 0.001, 0.001]).finding.startswith("the gradient norm has shrunk")
    verdict = critical_point_test([0.1, 0.5, 1.0, 2.0, 2.0, 2.0, 2.0, 2.0])
    assert verdict.finding == "not at a critical point: the gradient norm has not shrunk"
    assert verdict.evidence["final / peak"] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="non-finite"):
        critical_point_test([1.0, 2.0, float("nan"), 1.0])
    with pytest.raises(ValueError, match="at least 4"):
        critical_point_test([1.0, 2.0])


def test_ratio_threshold_is_the_best_step():
    steps = range(0, 80, 10)
    assert BEST_STEP_RATIO == 0.5 and STABILITY_FRACTION == 0.9 and NEGATIVE_CURVATURE == 0.01
    below = ill_conditioning_test(steps, [0.49] * 8)
    assert below.finding == "no sign of trouble: the step stays below the curvature limit"
    at = ill_conditioning_test(steps, [0.1, 0.1, 0.1, 0.1, 0.5, 0.2, 0.9, 1.0])
    assert at.finding == "ill-conditioning: the step is at the curvature limit since step 40"
    assert at.evidence["since step"] == 40
    assert at.evidence["share of probes with ratio >= limit, last part"] == 1.0


def test_sharpness_alone_can_flag_the_limit():
    steps = range(0, 80, 10)
    verdict = ill_conditioning_test(steps, [0.05] * 8, eigen_steps=[20, 40, 60, 70], sharpness_ratios=[0.3, 0.95, 1.2, 3.0])
    assert verdict.finding.endswith("since step 40")
    quiet = ill_conditioning_test(steps, [0.05] * 8, eigen_steps=[20, 40, 60, 70], sharpness_ratios=[0.3, 0.5, 0.89, 0.6])
    assert quiet.finding.startswith("no sign of trouble")


def test_zero_gradient_probes_are_skipped_and_bad_series_rejected():
    steps = range(0, 80, 10)
    verdict = ill_conditioning_test(steps, [0.9] * 7 + [float("nan")])
    assert verdict.finding.endswith("since step 0")
    with pytest.raises(ValueError, match="infinite"):
        ill_conditioning_test(steps, [0.9] * 7 + [float("inf")])
    with pytest.raises(ValueError, match="as long as its steps"):
        ill_conditioning_test(steps, [0.9] * 5)
    with pytest.raises(ValueError, match="at least 4 probes"):
        ill_conditioning_test([0, 1], [0.9, 0.9])
    with pytest.raises(ValueError, match="tail"):
        ill_conditioning_test(steps, [0.9] * 8, tail=1.5)
    with pytest.raises(ValueError, match="best_step_ratio"):
        ill_conditioning_test(steps, [0.9] * 8, best_step_ratio=-1.0)


def test_negative_curvature_thresholds_and_wording():
    saddle = negative_curvature_test([-0.02], [1.0], near_critical_point=True)
    assert saddle.finding == "negative curvature present: near a saddle, not a minimum"
    moving = negative_curvature_test([-0.02], [1.0], near_critical_point=False)
    assert moving.finding.startswith("negative curvature present: not a minimum")
    assert negative_curvature_test([-0.009], [1.0], True).finding.startswith("no sign of trouble")
    assert negative_curvature_test([0.3], [1.0], True).finding.startswith("no sign of trouble")
    flat = negative_curvature_test([-1e-4], [1e-4], True, step_size=1.0)
    assert flat.finding.startswith("flat region") and flat.evidence["eps max|lambda|"] == pytest.approx(1e-4)
    assert negative_curvature_test([-1e-4], [1e-4], True, step_size=1e3).finding.startswith("negative curvature present")
    tail_only = negative_curvature_test([-0.5, -0.5, -0.5, 0.0], [1.0] * 4, True)  # the end of the run decides
    assert tail_only.finding.startswith("no sign of trouble")
    with pytest.raises(ValueError, match="lambda_min"):
        negative_curvature_test([], [], True)
    with pytest.raises(ValueError, match="non-finite"):
        negative_curvature_test([float("nan")], [1.0], True)
    with pytest.raises(ValueError, match="step_size"):
        negative_curvature_test([-1.0], [1.0], True, step_size=0.0)


def test_diagnose_training_combines_the_tests():
    record = _record([0.9] * 8, [1.0] * 8, lambda_max=[9.0, 9.5], lambda_min=[-1.0, -1.0], lr=0.2)
    diagnosis = diagnose_training(record)
    assert [v.test for v in diagnosis.verdicts] == ["progress", "ill-conditioning", "critical point", "negative curvature"]
    assert diagnosis.verdict("critical point").evidence["final / peak"] == pytest.approx(1.0)
    assert diagnosis.finding("ill-conditioning").startswith("ill-conditioning: the step is at the curvature limit")
    assert diagnosis.finding("critical point").startswith("not at a critical point")
    assert diagnosis.finding("negative curvature").startswith("negative curvature present: not a minimum")
    assert "ill-conditioning" in str(diagnosis)
    with pytest.raises(ValueError, match="test must be one of"):
        diagnosis.finding("cosmic rays")
    calm = diagnose_training(_record([0.05] * 8, [1.0, 0.5, 0.1, 1e-3, 1e-4, 1e-4, 1e-4, 1e-4]))
    assert calm.finding("critical point").startswith("the gradient norm has shrunk")
    assert calm.finding("negative curvature").startswith("not measured")


def test_diagnose_training_reports_divergence_and_rejects_bad_records():
    record = _record([0.9] * 8, [1.0] * 8)
    record.diverged_at = 80
    diverged = diagnose_training(record)
    assert diverged.verdicts[0].finding.startswith("the loss became non-finite at step 80")
    assert "progress" not in [v.test for v in diverged.verdicts]  # the divergence verdict says it
    with pytest.raises(ValueError, match="at least 4 probes"):
        diagnose_training(_record([0.9] * 3, [1.0] * 3))
    with pytest.raises(TypeError, match="MonitorRecord"):
        diagnose_training({"ratio": [1.0]})


def test_report_figure_draws_three_panels_also_for_a_diverged_run():
    record = _record([0.9] * 8, [1.0] * 8, lambda_max=[9.0, 9.5], lambda_min=[-1.0, -1.0])
    record.diverged_at = 80
    fig = report_figure(record, window=5, title="a run")
    assert len(fig.axes) == 3
    plt.close(fig)
    fig = report_figure(_record([0.1] * 8, [1.0] * 8))  # no Lanczos: a message in the third panel
    assert "no Lanczos" in fig.axes[2].texts[0].get_text()
    plt.close(fig)
    with pytest.raises(ValueError, match="empty"):
        report_figure(MonitorRecord())
    with pytest.raises(TypeError, match="MonitorRecord"):
        report_figure([1.0, 2.0])


def test_exports():
    assert ob.diagnose_training is diagnose_training and ob.TrainingMonitor is not None
    assert np.isclose(ob.diagnose.BEST_STEP_RATIO, 0.5)


def test_critical_point_test_calls_a_blow_up_a_divergence():
    grad_norms = [1.0, 10.0, 1e6, 1e16, 2e14, 2e14, 2e14, 2e14]
    verdict = ob.critical_point_test(grad_norms)
    assert "diverging" in verdict.finding and verdict.evidence["peak / first"] == 1e16
    assert "diverging" not in ob.critical_point_test([1.0, 20.0, 25.0, 24.0, 26.0, 25.0]).finding


def test_progress_test_calls_a_stuck_or_rising_cost_no_progress():
    falling = progress_test([2.3, 1.5, 1.0, 0.6, 0.3, 0.2, 0.1, 0.05])
    assert falling.finding == "the cost fell and is still falling" and falling.evidence["final / first"] == pytest.approx(0.075 / 2.3)
    stalled = progress_test([2.3, 1.0, 0.5, 0.4, 0.4, 0.4, 0.4, 0.4])
    assert stalled.finding.startswith("the cost fell, then stalled")
    # a saturated network: the cost jumps far above its start and stays there (eps = 12 on some seeds)
    saturated = progress_test([2.3, 400.0, 420.0, 410.0, 415.0, 414.0, 414.0, 414.0])
    assert saturated.finding.startswith("no progress: the cost rose above its starting value")
    stuck = progress_test([2.30, 2.29, 2.28, 2.27, 2.26, 2.25, 2.24, 2.23])  # fell by 3%: not 10%
    assert stuck.finding.startswith("no progress: the cost stayed near its starting value")
    # at the threshold: a fall of 11% of the start counts as progress, 9% does not
    assert progress_test([1.0, 1.0, 1.0, 1.0, 0.89, 0.89]).finding.startswith("the cost fell")
    assert progress_test([1.0, 1.0, 1.0, 1.0, 0.91, 0.91]).finding.startswith("no progress")
    # a cost that goes negative (the saddle x1^2 - x2^2) is judged by its fall relative to |J_0|
    assert progress_test([1.0, 0.5, 0.0, -1.0, -4.0, -16.0, -64.0, -256.0]).finding == "the cost fell and is still falling"
    with pytest.raises(ValueError, match="non-finite"):
        progress_test([1.0, 2.0, float("inf"), 1.0])
    with pytest.raises(ValueError, match="at least 4"):
        progress_test([1.0, 2.0])
    with pytest.raises(ValueError, match="tail"):
        progress_test([1.0] * 8, tail=0.75)


def test_diagnosis_of_a_saturated_run_is_not_all_clear():
    # what eps = 12 does to the digits MLP on some seeds: the cost jumps up and every curvature vanishes
    record = _record([1e-11] * 8, [8.0, 8.0, 7.9, 7.8, 7.6, 7.6, 7.6, 7.6], lambda_max=[1e-6, 1e-6],
                     lambda_min=[-2e-4, -2e-4], lr=12.0)
    record.probe_loss = [2.3, 460.0, 450.0, 440.0, 420.0, 414.0, 414.0, 414.0]
    diagnosis = diagnose_training(record)
    assert diagnosis.finding("progress").startswith("no progress")
    assert diagnosis.finding("ill-conditioning").startswith("no sign of trouble")  # true of the end, not the story
    assert diagnosis.finding("negative curvature").startswith("flat region")


def test_critical_point_test_on_an_exactly_zero_gradient_and_on_negative_norms():
    verdict = critical_point_test([0.0] * 10)
    assert "exactly zero" in verdict.finding
    with pytest.raises(ValueError, match="grad_norms"):
        critical_point_test([1.0, -1.0, 0.5, 0.2])


def test_the_report_names_the_sharpest_layer():
    record = _record([0.1] * 8, [1.0] * 8, lambda_max=[19.0] * 4, lambda_min=[1.0] * 4, lr=0.1)
    record.layer_names, record.layer_sharpness = ["0", "2"], [[5.0, 18.0]] * 4
    verdict = diagnose_training(record).verdict("ill-conditioning")
    assert verdict.finding.startswith("ill-conditioning") and verdict.finding.endswith("the sharpest layer is '2'")
    assert verdict.evidence["sharpest layer: lambda_max / limit"] == pytest.approx(0.9)


def test_report_figure_shows_the_preconditioned_sharpness_and_layers():
    import matplotlib.pyplot as plt
    import torch
    from torch import nn

    import optbook as ob

    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(40, 5, generator=g, dtype=torch.float64), torch.randint(0, 3, (40,), generator=g)
    net = ob.mlp([5, 6, 3], "tanh", seed=0, dtype=torch.float64)
    opt = torch.optim.Adam(net.parameters(), lr=0.01)
    monitor = ob.TrainingMonitor(net, nn.functional.cross_entropy, x, y, opt, every=1, eigen_every=2, layers=True)
    for _ in range(5):
        loss = nn.functional.cross_entropy(net(x), y)
        opt.zero_grad()
        loss.backward()
        monitor.step(loss)
        opt.step()
    fig = report_figure(monitor.record)
    labels = [line.get_label() for line in fig.axes[2].get_lines()]
    assert "λ_max(P⁻¹H)" in labels and "layer 0" in labels and "layer 2" in labels
    assert any("Adam" in label for label in labels)  # the limit's line names the optimizer's rule
    plt.close(fig)
