"""The paper's own training loop, imported from a local copy of its repository.

Both trainer benchmarks time ``batchfit_linearvae`` of
https://github.com/Yuma-Ichikawa/vae-replica (files ``src/vae.py``, ``src/utils.py``,
``src/data.py``) as published: this module only makes a local clone importable and
builds its model the way its code does; nothing of it is rewritten here.
"""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

CLONE_HINT = "git clone https://github.com/Yuma-Ichikawa/vae-replica"


def load_baseline(path):
    """The training function and model of the paper's repository, from a local clone.

    Its modules import one another through the name of their folder's package
    (``from src import utils`` in the current files, ``from main import utils`` in
    earlier ones), so the clone's ``src`` folder is made importable under the name its
    ``vae.py`` uses. Published interface (src/vae.py): ``LinearVAE(N, M)`` and
    ``batchfit_linearvae(dataset, model, num_epoch, lr, beta, reg_param,
    check_interval, device)``.

    Returns
    -------
    (LinearVAE, batchfit_linearvae)
    """
    import importlib

    src = Path(path).expanduser().resolve() / "src"
    if not (src / "vae.py").is_file():
        raise SystemExit(f"--baseline {path}: no src/vae.py there; get it with: {CLONE_HINT}")
    found = re.search(r"^from (\w+) import utils", (src / "vae.py").read_text(), re.M)
    name = found.group(1) if found else "src"
    package = types.ModuleType(name)
    package.__path__ = [str(src)]
    previous = {key: sys.modules.pop(key) for key in list(sys.modules)
                if key == name or key.startswith(name + ".")}
    sys.modules[name] = package
    try:
        vae = importlib.import_module(f"{name}.vae")
    finally:
        for key in [key for key in sys.modules if key == name or key.startswith(name + ".")]:
            del sys.modules[key]
        sys.modules.update(previous)
    return vae.LinearVAE, vae.batchfit_linearvae
