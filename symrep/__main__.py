"""``python -m symrep``: the same command line as the ``symrep`` script."""

import sys

try:
    from symrep.cli import run
except KeyboardInterrupt:  # Ctrl-C while starting up: the same one line and status
    sys.stderr.write("symrep: interrupted\n")
    sys.exit(130)

run()
