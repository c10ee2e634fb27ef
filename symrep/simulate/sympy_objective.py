"""A model's training objective as a torch function, printed from its SymPy definition.

Nothing here is typed by hand: the model's ``per_sample_objective()`` (in the local
fields u = W^T x/sqrt(N), v = W~ x/sqrt(N), x2 = ||x||^2, the overlaps Q = W^T W/N,
the encoder variances D, beta, and whatever scalars the model trains besides, e.g.
sigma^2, and N) and its ``regularizer()`` (per N, in Q, R, E and lam) are printed to
torch with :func:`sympy.lambdify`, evaluated on all P samples as tensors and summed:

    L = sum_mu ell(x^mu) + N * regularizer.

The variables trained are W, W~, log D and the logarithms of the model's
``trainable_scalars()`` (positive scalars): D and the scalars are substituted by
exponentials in SymPy, so that log D stays exact where D underflows, and autograd gives
the gradient.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

__all__ = ["PrintedObjective", "printed_objective", "DIMENSION"]

#: The name of the input dimension in a model's objective (``LearnedVarianceVAE``'s
#: ``dimension_symbol()``).
DIMENSION = "N"


@dataclass(frozen=True)
class PrintedObjective:
    """The torch functions of one model's objective, and the symbols they take.

    Attributes
    ----------
    M : int
        Latent units.
    scalar_names : tuple of str
        The model's trainable scalars (trained as their logarithms), e.g. ``("sigma2",)``.
    arguments : tuple of sympy.Symbol
        The arguments of the printed functions, in order: x2, u_1..u_M, v_1..v_M, the
        entries of Q, R, E (Q and E symmetric: i <= j), log D_1..log D_M, the logs of
        the scalars, beta, lam, N.
    per_sample : callable
        ell of one sample (torch; broadcasts over the samples).
    data_part : callable
        The part of ell that depends on no weight but the scalars (the terms with x2 or
        N): subtracted from the objective for the free energy.
    regularizer : callable
        The regularizer per N.
    source : dict
        The SymPy expressions printed (``per_sample``, ``data_part``, ``regularizer``),
        after the substitution D = exp(log D) and sigma2 = exp(log sigma2).
    """

    M: int
    scalar_names: tuple
    arguments: tuple
    per_sample: object
    data_part: object
    regularizer: object
    source: dict

    def evaluate(self, X, W, W_enc, log_D, log_scalars, beta, lam):
        """The objective L summed over the samples, and its data part, as tensors.

        Parameters
        ----------
        X : Tensor (P, N)
            The samples.
        W : Tensor (N, M)
            Decoder weights.
        W_enc : Tensor (M, N)
            Encoder weights W~.
        log_D : Tensor (M,)
            Log encoder variances.
        log_scalars : Tensor (k,)
            Logs of the trainable scalars, in the order of :attr:`scalar_names`.
        beta, lam : float
            Model parameters.

        Returns
        -------
        total : Tensor ()
            L = sum_mu ell(x^mu) + N * regularizer.
        data : Tensor ()
            sum_mu of the data part of ell (the free energy is (L - data) / N).
        """
        import torch

        P, N = X.shape
        M = self.M
        sqrt_n = math.sqrt(N)
        U, V = X @ W / sqrt_n, X @ W_enc.T / sqrt_n
        Q, E = W.T @ W / N, W_enc @ W_enc.T / N
        R = W.T @ W_enc.T / N
        values = [(X * X).sum(1), *U.T, *V.T]
        for matrix, symmetric in ((Q, True), (R, False), (E, True)):
            values += [matrix[i, j] for i in range(M) for j in range(i if symmetric else 0, M)]
        values += [*log_D, *log_scalars]
        values += [torch.as_tensor(beta, dtype=X.dtype, device=X.device),
                   torch.as_tensor(lam, dtype=X.dtype, device=X.device),
                   torch.as_tensor(float(N), dtype=X.dtype, device=X.device)]

        def summed(f):
            value = torch.as_tensor(f(*values), dtype=X.dtype, device=X.device)
            return torch.broadcast_to(value, (P,)).sum()

        reg = torch.as_tensor(self.regularizer(*values), dtype=X.dtype, device=X.device)
        return summed(self.per_sample) + N * reg, summed(self.data_part)


def _matrix_entries(matrix, M, symmetric):
    return [matrix[i, j] for i in range(M) for j in range(i if symmetric else 0, M)]


@cache
def printed_objective(model) -> PrintedObjective:
    """Print ``model``'s objective to torch (once per model).

    Parameters
    ----------
    model : a model of :mod:`symrep.models`
        Asked for ``symbols()``, ``per_sample_objective()``, ``regularizer()`` and
        ``trainable_scalars()``.

    Returns
    -------
    PrintedObjective

    Raises
    ------
    ValueError
        If the objective has a symbol the trainer cannot give a value (an overlap with
        the features, say: a training objective sees the data only).
    """
    import sympy as sp

    s = model.symbols()
    M = model.M
    scalars = tuple(model.trainable_scalars())
    log_d = [sp.Symbol(f"log_D_{i + 1}", real=True) for i in range(M)]
    log_scalars = [sp.Symbol(f"log_{x.name}", real=True) for x in scalars]
    # exp of a real symbol: SymPy turns log(exp(a)) into a, so log D is exact
    subs = {**{d: sp.exp(a) for d, a in zip(s.D_entries, log_d, strict=True)},
            **{x: sp.exp(a) for x, a in zip(scalars, log_scalars, strict=True)}}
    dimension = sp.Symbol(DIMENSION, positive=True)
    arguments = (s.x2, *list(s.u), *list(s.v), *_matrix_entries(s.Q, M, True),
                 *_matrix_entries(s.R, M, False), *_matrix_entries(s.E, M, True),
                 *log_d, *log_scalars, s.beta, s.lam, dimension)
    ell = sp.expand(model.per_sample_objective().xreplace(subs))
    reg = sp.expand(model.regularizer().xreplace(subs))
    unknown = (ell.free_symbols | reg.free_symbols) - set(arguments)
    if unknown:
        raise ValueError(f"model = {model!r} is invalid for training: its objective has "
                         f"the symbol(s) {', '.join(sorted(map(str, unknown)))}, which "
                         "are not local fields, overlaps Q, R, E, D, trainable scalars, "
                         "beta, lam or N")
    data_part = sp.Add(*(t for t in sp.Add.make_args(ell) if t.has(s.x2) or t.has(dimension)))
    exprs = {"per_sample": ell, "data_part": data_part, "regularizer": reg}
    functions = {k: sp.lambdify(arguments, e, modules="torch") for k, e in exprs.items()}
    return PrintedObjective(M=M, scalar_names=tuple(x.name for x in scalars),
                            arguments=arguments, source=exprs, **functions)
