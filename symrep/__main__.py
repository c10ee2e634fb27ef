"""``python -m symrep``: the same command line as the ``symrep`` script."""

import sys

from symrep.cli import main

sys.exit(main())
