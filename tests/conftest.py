"""Test-suite configuration: the hypothesis profiles (tests/profiles.py, docs/testing.md)
and single-threaded numerics."""

import os

# The tests solve small problems (N <= 1500 in linear algebra, N <= 300 in training), where
# BLAS and torch threads cost more in start-up and spinning than they save; on a shared CPU
# they slow the suite several-fold (an eigh of 300 x 300 took 1.6 s instead of 0.02 s).
# Set before numpy is first imported (by torch, below); CLI subprocesses and notebook
# kernels inherit it. An explicit setting in the environment wins.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import torch  # noqa: E402
from hypothesis import settings  # noqa: E402
from profiles import register_profiles  # noqa: E402

register_profiles()

torch.set_num_threads(1)


def pytest_configure(config):
    # `pytest -m fuzz` runs the property tests with many more examples, unless a profile
    # is named explicitly with --hypothesis-profile
    markexpr = config.getoption("markexpr", default="") or ""
    if ("fuzz" in markexpr and "not fuzz" not in markexpr
            and not config.getoption("hypothesis_profile", default=None)):
        settings.load_profile("fuzz")
