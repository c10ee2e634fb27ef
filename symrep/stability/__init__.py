"""Stability of the replica-symmetric branches: the RS Hessian and the replicon."""
