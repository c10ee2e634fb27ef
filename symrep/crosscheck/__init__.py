"""Independent cross-checks of the solver: random-matrix closed forms (one unit per
spectral component). Used by the tests and the documentation, never by the solver."""

from symrep.crosscheck.random_matrix import (
    candidates,
    closed_form_mp,
    closed_form_solution,
    spectral_edges,
)

__all__ = ["candidates", "closed_form_mp", "closed_form_solution", "spectral_edges"]
