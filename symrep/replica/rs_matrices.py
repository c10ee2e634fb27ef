"""Replica-symmetric block matrices for a symbolic number of replicas n.

Under the replica-symmetric (RS) ansatz every n x n array of p x p blocks that appears
in the calculation has one block A on the diagonal and one block B everywhere else:
I_n (x) (A - B) + 1 1^T (x) B. Such a matrix maps the "symmetric" vectors 1 (x) w into
themselves, with the block A + (n - 1) B, and the (n - 1)-dimensional orthogonal
complement with A - B. Hence, for any n (integer or symbolic),

    log det = (n - 1) log det(A - B) + log det(A + (n - 1) B),

and the inverse acts on 1 (x) w as 1 (x) (A + (n - 1) B)^{-1} w. Tests compare these
formulas with explicit matrices for n = 1, 2, 3.

The blocks may be explicit matrices (their determinants and inverses are then written
out) or matrix expressions (``MatrixSymbol`` and the like, for models with several latent
units): determinants, inverses and traces then stay unevaluated
(``Determinant``, ``Inverse``, ``Trace``).
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from symrep.symbols import n as n_symbol

__all__ = ["RSMatrix"]


@dataclass(frozen=True)
class RSMatrix:
    """n x n blocks of size p x p: ``diag`` on the diagonal, ``off`` elsewhere."""

    diag: sp.Matrix
    off: sp.Matrix
    n: sp.Expr = n_symbol

    @property
    def block_size(self) -> int:
        """The size p of each block."""
        return self.diag.shape[0]

    @property
    def explicit_blocks(self) -> bool:
        """True when the blocks are explicit matrices (not matrix expressions)."""
        return isinstance(self.diag, sp.MatrixBase)

    def _det(self, M):
        return M.det() if self.explicit_blocks else sp.Determinant(M)

    def _inv(self, M):
        return M.inv() if self.explicit_blocks else sp.Inverse(M)

    def _trace(self, M):
        return M.trace() if self.explicit_blocks else sp.Trace(M)

    def left_multiply(self, K: sp.Matrix) -> RSMatrix:
        """(I_n (x) K) times this matrix.

        Parameters
        ----------
        K : sympy.Matrix or sympy.MatrixExpr
            A p x p matrix (explicit or a matrix expression, like the blocks).

        Returns
        -------
        RSMatrix
            The RS matrix with blocks K A and K B.
        """
        return RSMatrix(K * self.diag, K * self.off, self.n)

    def plus_identity(self) -> RSMatrix:
        """The identity of size n p plus this matrix.

        Returns
        -------
        RSMatrix
            The RS matrix with blocks I_p + A and B.
        """
        eye = sp.eye(self.block_size) if self.explicit_blocks else sp.Identity(self.block_size)
        return RSMatrix(eye + self.diag, self.off, self.n)

    def symmetric_block(self) -> sp.Matrix:
        """A + (n - 1) B: the action on symmetric vectors 1 (x) w.

        Returns
        -------
        sympy.Matrix or sympy.MatrixExpr
            The p x p block A + (n - 1) B.
        """
        return self.diag + (self.n - 1) * self.off

    def logdet(self) -> sp.Expr:
        """log det of the full matrix: (n-1) log det(A - B) + log det(A + (n-1) B).

        Returns
        -------
        sympy.Expr
            The log-determinant as a function of n (with ``Determinant`` left unevaluated for
            matrix-expression blocks).
        """
        return (self.n - 1) * sp.log(self._det(self.diag - self.off)) + sp.log(
            self._det(self.symmetric_block())
        )

    def inverse_quadratic(self, w: sp.Matrix) -> sp.Expr:
        """(1 (x) w)^T M^{-1} (1 (x) w) = n w^T (A + (n-1) B)^{-1} w.

        For a p x k matrix w (k columns, e.g. one per feature) the sum over the columns,
        n tr(w^T (A + (n-1) B)^{-1} w).

        Parameters
        ----------
        w : sympy.Matrix or sympy.MatrixExpr
            A p x k matrix (k = 1 for a vector).

        Returns
        -------
        sympy.Expr
            n tr(w^T (A + (n-1) B)^{-1} w).
        """
        if self.explicit_blocks and w.shape[1] == 1:
            return self.n * (w.T * self.symmetric_block().inv() * w)[0, 0]
        return self.n * self._trace(w.T * self._inv(self.symmetric_block()) * w)

    def trace_product(self, other: RSMatrix) -> sp.Expr:
        """sum_ab tr(M_ab O_ab^T) = n tr(A A'^T) + n (n - 1) tr(B B'^T).

        Parameters
        ----------
        other : RSMatrix
            An RS matrix O with blocks A' and B' of the same size and the same n.

        Returns
        -------
        sympy.Expr
            n tr(A A'^T) + n (n - 1) tr(B B'^T).
        """
        return self.n * self._trace(self.diag * other.diag.T) + self.n * (self.n - 1) * (
            self._trace(self.off * other.off.T)
        )

    def explicit(self, n_value: int) -> sp.Matrix:
        """The full (n p) x (n p) matrix for a concrete number of replicas.

        Parameters
        ----------
        n_value : int
            The number of replicas, substituted for the symbol n in the blocks.

        Returns
        -------
        sympy.Matrix
            The n_value p x n_value p matrix with A on the diagonal blocks and B elsewhere
            (the blocks must be explicit matrices).
        """
        p = self.block_size
        sub = {self.n: n_value} if isinstance(self.n, sp.Symbol) else {}
        A, B = self.diag.subs(sub), self.off.subs(sub)
        full = sp.zeros(n_value * p, n_value * p)
        for a in range(n_value):
            for c in range(n_value):
                full[a * p : (a + 1) * p, c * p : (c + 1) * p] = A if a == c else B
        return full
