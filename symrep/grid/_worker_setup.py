"""Set-up of the worker processes of the LocalCluster that symrep starts (a Dask preload,
``symrep.grid.executor.open_client``): they ignore SIGINT.

A Ctrl-C at the terminal goes to every process of the foreground group, the workers
included; the command's own process stops the run and closes the cluster, which stops
the workers. A worker that took the signal itself died with a traceback of its own.
"""

import signal
import threading


def dask_setup(worker):
    """Ignore SIGINT in this worker process (Dask calls it as the worker starts)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
