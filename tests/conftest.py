"""Test-suite configuration: the hypothesis profiles (tests/profiles.py, docs/testing.md)."""

import torch
from hypothesis import settings
from profiles import register_profiles

register_profiles()

# The tests train small models (N <= 300), where torch's intra-op threads cost more in
# start-up and spinning than they save; on a shared CPU they slow training several-fold.
torch.set_num_threads(1)


def pytest_configure(config):
    # `pytest -m fuzz` runs the property tests with many more examples, unless a profile
    # is named explicitly with --hypothesis-profile
    markexpr = config.getoption("markexpr", default="") or ""
    if ("fuzz" in markexpr and "not fuzz" not in markexpr
            and not config.getoption("hypothesis_profile", default=None)):
        settings.load_profile("fuzz")
