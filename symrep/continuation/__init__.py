"""Continuation of the RS branches and of the phase boundaries as curves.

- :func:`follow`, :func:`switch`, :func:`trace`, :func:`crossings`: branches of the
  one-unit RS equations along a straight path in the parameters, by pseudo-arclength,
  with folds, branch points and first-order crossings located as events
  (:mod:`symrep.continuation.branches`);
- :func:`collapse_threshold_curve`, :func:`learning_threshold_curve`,
  :func:`first_order_curve`, :func:`overfitting_threshold_curve`,
  :func:`boundary_curves`, :func:`phase_boundaries`: the boundaries of the
  (alpha, beta) plane continued as curves of augmented systems
  (:mod:`symrep.continuation.boundaries`).

The model enters only through :class:`symrep.continuation.linear_vae.UnitSystem`.
See docs/continuation.md.
"""

from symrep.continuation.branches import Branch, Event, crossings, follow, switch, trace

__all__ = ["Branch", "Event", "follow", "switch", "trace", "crossings"]
from symrep.continuation.boundaries import (
    boundary_curves,
    collapse_threshold_curve,
    first_order_curve,
    learning_threshold_curve,
    overfitting_threshold_curve,
    phase_boundaries,
)

__all__ += ["collapse_threshold_curve", "learning_threshold_curve", "first_order_curve",
            "overfitting_threshold_curve", "boundary_curves", "phase_boundaries"]
