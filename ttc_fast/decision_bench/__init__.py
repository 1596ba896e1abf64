"""The decision-quality benchmark (``ttc-fast bench-decision``, ``benchmarks/bench_decision.py``).

:mod:`~ttc_fast.decision_bench.families`: synthetic training runs whose truth is known exactly;
:mod:`~ttc_fast.decision_bench.real`: real published learning curves (and your own, from a CSV) replayed as
accuracy tables;
:mod:`~ttc_fast.decision_bench.harness`: every stop rule on every run, judged against the truth and against the
best stop in hindsight, and the projection's calibration on the real curves and the synthetic runs.
"""
from ttc_fast.decision_bench.families import (CORE_FAMILIES, FAMILIES, HELDOUT_FAMILIES, STRESS_FAMILIES,
                                              Family, make_run)
from ttc_fast.decision_bench.harness import (METHODS, Settings, format_calibration, format_table,
                                             projection_calibration, run_real, run_synthetic, summarise,
                                             synthetic_calibration)
from ttc_fast.decision_bench.real import SOURCES, load_curve_file, load_real_curves

__all__ = ["Family", "FAMILIES", "CORE_FAMILIES", "STRESS_FAMILIES", "HELDOUT_FAMILIES", "SOURCES", "METHODS",
           "Settings", "make_run", "load_real_curves", "load_curve_file", "run_synthetic", "run_real", "summarise",
           "format_table", "projection_calibration", "synthetic_calibration", "format_calibration"]
