"""SymPy symbols of the model, its order parameters and their conjugates.

Model parameters (positive, real): ``alpha``, ``beta``, ``lam`` (printed as lambda),
``rho``, ``eta``.

Order parameters of one latent unit and one feature (M = M* = 1), at zero temperature:

=============  ================================================================
``m``, ``d``   overlaps of decoder and encoder with the feature: W.W0/N, W~.W0/N
``Q``, ``E``   squared norms W.W/N and W~.W~/N
``R``          cross overlap W.W~/N
``D``          encoder variance
``chi_Q``,     susceptibilities: b times the difference between the overlap of a
``chi_R``,     replica with itself and with another replica, in the limit of
``chi_E``      zero temperature (b -> infinity)
=============  ================================================================

For the large-alpha expansion (:mod:`symrep.asymptotics`): ``epsilon`` = 1/alpha and the
rescaled precision matrix ``(y_Q, y_R, y_E)`` = (chihat_Q, chihat_R, chihat_E)/alpha, which
stays finite as alpha -> infinity. ``Dcal`` is the distortion used as an independent
variable (rate-distortion curves); ``s`` an eigenvalue of the sample covariance, and
``omega``, ``omegatilde`` the amplitudes of decoder and encoder along its eigenvector
(linear stability of the collapsed solution).

At finite temperature the off-diagonal overlaps ``q``, ``r``, ``e`` appear, with the
replica number ``n`` and the inverse temperature ``b``. The conjugate variables of the
entropic term carry a ``hat`` (printed with a hat in LaTeX).
"""

from __future__ import annotations

import sympy as sp

__all__ = [
    "alpha", "beta", "lam", "rho", "eta", "PARAMETERS",
    "m", "d", "Q", "R", "E", "D", "chi_Q", "chi_R", "chi_E", "ORDER_PARAMETERS",
    "q", "r", "e", "n", "b", "u", "v", "x2",
    "Qtilde", "Rtilde", "Etilde", "qtilde", "rtilde", "etilde", "mtilde", "dtilde",
    "mhat", "dhat", "chihat_Q", "chihat_R", "chihat_E", "qhat", "rhat", "ehat",
    "CONJUGATES", "overlap_matrix", "offdiagonal_matrix", "susceptibility_matrix",
    "teacher_overlaps",
    "epsilon", "y_Q", "y_R", "y_E", "Dcal", "s", "omega", "omegatilde",
]

_pos = dict(positive=True, real=True)

alpha = sp.Symbol("alpha", **_pos)
beta = sp.Symbol("beta", **_pos)
lam = sp.Symbol("lambda", nonnegative=True, real=True)
rho = sp.Symbol("rho", **_pos)
eta = sp.Symbol("eta", **_pos)

#: The model parameters in their canonical order (alpha, beta, lam, rho, eta).
PARAMETERS = (alpha, beta, lam, rho, eta)

m = sp.Symbol("m", real=True)
d = sp.Symbol("d", real=True)
Q = sp.Symbol("Q", nonnegative=True, real=True)
R = sp.Symbol("R", real=True)
E = sp.Symbol("E", nonnegative=True, real=True)
D = sp.Symbol("D", **_pos)
chi_Q = sp.Symbol("chi_Q", real=True)
chi_R = sp.Symbol("chi_R", real=True)
chi_E = sp.Symbol("chi_E", real=True)

#: Zero-temperature order parameters in their canonical order.
ORDER_PARAMETERS = (Q, R, E, m, d, chi_Q, chi_R, chi_E, D)

# finite temperature: off-diagonal overlaps, replica number, inverse temperature
q = sp.Symbol("q", real=True)
r = sp.Symbol("r", real=True)
e = sp.Symbol("e", real=True)
n = sp.Symbol("n", real=True)
b = sp.Symbol("b", **_pos)

# local fields of one sample and its squared norm
u = sp.Symbol("u", real=True)
v = sp.Symbol("v", real=True)
x2 = sp.Symbol("x2", nonnegative=True, real=True)

# conjugate variables at finite temperature: diagonal and off-diagonal blocks, fields
Qtilde, Rtilde, Etilde = sp.symbols("Qtilde Rtilde Etilde", real=True)
qtilde, rtilde, etilde = sp.symbols("qtilde rtilde etilde", real=True)
mtilde, dtilde = sp.symbols("mtilde dtilde", real=True)

# conjugate variables after the zero-temperature scaling (symrep.replica.zero_temperature)
mhat = sp.Symbol("mhat", real=True)
dhat = sp.Symbol("dhat", real=True)
chihat_Q = sp.Symbol("chihat_Q", real=True)
chihat_R = sp.Symbol("chihat_R", real=True)
chihat_E = sp.Symbol("chihat_E", real=True)
qhat = sp.Symbol("qhat", real=True)
rhat = sp.Symbol("rhat", real=True)
ehat = sp.Symbol("ehat", real=True)

#: Conjugate variables of the zero-temperature entropic term.
CONJUGATES = (mhat, dhat, chihat_Q, chihat_R, chihat_E, qhat, rhat, ehat)


def overlap_matrix():
    """Overlaps of a replica with itself, [[Q, R], [R, E]] (decoder, encoder).

    Returns
    -------
    sympy.Matrix
        The 2 x 2 matrix of the symbols Q, R, E.
    """
    return sp.Matrix([[Q, R], [R, E]])


def offdiagonal_matrix():
    """Overlaps between two different replicas, [[q, r], [r, e]].

    Returns
    -------
    sympy.Matrix
        The 2 x 2 matrix of the symbols q, r, e.
    """
    return sp.Matrix([[q, r], [r, e]])


def susceptibility_matrix():
    """Zero-temperature susceptibilities [[chi_Q, chi_R], [chi_R, chi_E]].

    Returns
    -------
    sympy.Matrix
        The 2 x 2 matrix X of the symbols chi_Q, chi_R, chi_E.
    """
    return sp.Matrix([[chi_Q, chi_R], [chi_R, chi_E]])


def teacher_overlaps():
    """Overlaps with the feature, the column (m, d).

    Returns
    -------
    sympy.Matrix
        The 2 x 1 column t of the symbols m, d.
    """
    return sp.Matrix([m, d])


# large-alpha expansion: epsilon = 1/alpha and the rescaled precision Y / alpha
epsilon = sp.Symbol("epsilon", **_pos)
y_Q = sp.Symbol("y_Q", real=True)
y_R = sp.Symbol("y_R", real=True)
y_E = sp.Symbol("y_E", real=True)

# rate-distortion: the distortion as a variable (printed as a calligraphic D)
Dcal = sp.Symbol("Dcal", **_pos)

# per-mode analysis: a sample-covariance eigenvalue and the weights along its eigenvector
s = sp.Symbol("s", **_pos)
omega = sp.Symbol("omega", real=True)
omegatilde = sp.Symbol("omegatilde", real=True)
