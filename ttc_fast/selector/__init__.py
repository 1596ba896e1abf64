"""The TTC-aware early-stopping selector: stop training early and deploy a checkpoint with K samples per query.

Modules: :mod:`~ttc_fast.selector.types` (Decision, HistoryEntry), :mod:`~ttc_fast.selector.projection`
(the final accuracy projected from the learning curve), :mod:`~ttc_fast.selector.ttc` (the TTC curve of one
checkpoint), :mod:`~ttc_fast.selector.rule` (:class:`TTCEarlyStopping`, the stop rule),
:mod:`~ttc_fast.selector.naive` (the baseline), :mod:`~ttc_fast.selector.journal` (resume after a restart),
:mod:`~ttc_fast.selector.offline` (:func:`select` over an eval log).
"""
from ttc_fast.selector.naive import NaiveEarlyStopping
from ttc_fast.selector.offline import read_eval_log, select
from ttc_fast.selector.paper import SaturationFit, fit_saturation, fit_sigmoid, monotone_mask, saturation, sigmoid, sigmoid_k_star
from ttc_fast.selector.rule import TTCEarlyStopping
from ttc_fast.selector.types import METHODS, STRATEGIES, Decision, HistoryEntry

__all__ = ["Decision", "TTCEarlyStopping", "NaiveEarlyStopping", "select", "HistoryEntry", "read_eval_log",
           "saturation", "fit_saturation", "SaturationFit", "sigmoid", "fit_sigmoid", "sigmoid_k_star",
           "monotone_mask", "STRATEGIES", "METHODS"]
