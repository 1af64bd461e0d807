"""Training helpers for ``equiforce.train``: element references, normalisation, losses, metrics, EMA."""

from .core import (EMA, TaskStats, evaluate_sets, fit_element_references, force_rms, loss_terms,
                   predict_batch, task_stats)

__all__ = ["EMA", "TaskStats", "evaluate_sets", "fit_element_references", "force_rms", "loss_terms",
           "predict_batch", "task_stats"]
