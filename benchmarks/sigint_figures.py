"""Ctrl-C at random moments during ``symrep figures --quick``: no file is ever damaged.

The acceptance check of atomic outputs. One complete run writes the reference files;
then, K times, ``symrep figures --quick --out DIR`` starts in a folder that holds a copy
of the reference files (odd runs) or nothing (even runs), receives SIGINT at a moment
drawn uniformly from [0, T], where T is the duration of the complete run, and is waited
for. Each run must

- exit with status 130 (interrupted) and print one line on stderr, or exit with 0 and
  print nothing there when it finished before the signal; the command's log lines
  (``# ...``, its progress at the default verbosity) are not counted, as they are not
  failure messages;
- leave no process of its own running once it has exited (the signal goes to its whole
  process group, as Ctrl-C at a terminal sends it to the workers of a Dask cluster too);
- leave in DIR only files of the reference run (hidden ones included: no temporary
  file is left behind), each byte for byte identical to the reference file of the same
  name; a pre-populated DIR must still hold every reference file.

Usage::

    python benchmarks/sigint_figures.py [--runs 50] [--seed 0] [--work DIR] [--json OUT]

Prints one line per run and a summary; exits with status 1 if any run failed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path


def command(out, scheduler=None):
    """``symrep figures --quick --out OUT`` (``--scheduler SCHEDULER`` if given) through
    the installed script when there is one."""
    script = Path(sys.executable).with_name("symrep")
    prefix = [str(script)] if script.is_file() else [sys.executable, "-m", "symrep"]
    extra = [] if scheduler is None else ["--scheduler", scheduler]
    return [*prefix, "figures", "--quick", "--out", str(out), *extra]


def folder_bytes(folder):
    """``name -> bytes`` of every entry of a folder, hidden ones included."""
    return {name: (folder / name).read_bytes() if (folder / name).is_file() else None
            for name in sorted(os.listdir(folder))}


@dataclass
class Trial:
    """One interrupted (or finished) run and what it left behind."""

    run: int
    prepopulated: bool
    delay: float
    signalled: bool
    returncode: int
    seconds: float
    stderr: str
    files: int
    failures: list = field(default_factory=list)
    left: list = field(default_factory=list)


def reference_run(folder, timeout, scheduler=None):
    """The complete run: its files and its duration in seconds."""
    start = time.perf_counter()
    proc = subprocess.run(command(folder, scheduler), capture_output=True, text=True,
                          timeout=timeout)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"the reference run failed ({proc.returncode}): {proc.stderr}")
    return folder_bytes(folder), seconds


def check(trial, folder, reference):
    """Append to ``trial.failures`` every way the run broke the contract."""
    lines = [line for line in trial.stderr.splitlines() if not line.startswith("# ")]
    if "Traceback" in trial.stderr:
        trial.failures.append("traceback on stderr")
    if trial.returncode == 0:
        if lines:
            trial.failures.append(f"finished, but stderr is not empty: {lines!r}")
    elif trial.returncode == 130:
        if len(lines) != 1 or "interrupted" not in lines[0]:
            trial.failures.append(f"status 130, stderr is not one line: {lines!r}")
    elif trial.returncode == -signal.SIGINT and not lines:
        pass  # killed by the signal before Python installed its handler (shells: 130)
    else:
        trial.failures.append(f"exit status {trial.returncode}, stderr {lines!r}")
    if not trial.signalled and trial.returncode != 0:
        trial.failures.append("not signalled, yet it did not finish cleanly")
    if trial.left:
        trial.failures.append(f"processes left running: {trial.left}")
    found = folder_bytes(folder)
    trial.files = len(found)
    for name, data in found.items():
        if name not in reference:
            trial.failures.append(f"unexpected file {name!r} ({len(data or b'')} bytes)")
        elif data != reference[name]:
            trial.failures.append(f"{name} differs from the complete run's "
                                  f"({len(data)} vs {len(reference[name])} bytes)")
    if trial.prepopulated:
        missing = sorted(set(reference) - set(found))
        if missing:
            trial.failures.append(f"files of the previous run lost: {missing}")
    if trial.returncode == 0 and set(found) != set(reference):
        trial.failures.append(f"finished with {sorted(found)}, not {sorted(reference)}")



def _default_sigint():
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def session_processes(sid):
    """Processes of the session ``sid`` still running (zombies excluded)."""
    import psutil

    alive = []
    for proc in psutil.process_iter(["pid", "status"]):
        try:
            if os.getsid(proc.pid) == sid and proc.info["status"] != psutil.STATUS_ZOMBIE:
                alive.append(proc.pid)
        except (OSError, psutil.Error):
            pass
    return alive

def run_trials(runs=50, seed=0, work=None, timeout=1800, log=print, scheduler=None):
    """Make the reference run, then ``runs`` interrupted runs; return (T, trials).

    Parameters
    ----------
    runs : int
        Number of interrupted runs (K).
    seed : int
        Seed of the moments of the signals.
    work : path, optional
        Scratch folder (default: a temporary one, removed at the end).
    timeout : float
        Seconds after which a run that does not end is killed (and counted as failed).
    log : callable or None
        Called with one line per run.
    scheduler : str, optional
        ``--scheduler`` of the command (``"local"``: a Dask LocalCluster whose worker
        processes get the signal with the command's process group).
    """
    rng = random.Random(seed)
    owned = work is None
    work = Path(tempfile.mkdtemp(prefix="sigint-figures-") if owned else work)
    try:
        ref_dir = work / "reference"
        shutil.rmtree(ref_dir, ignore_errors=True)
        ref_dir.mkdir(parents=True)
        reference, full = reference_run(ref_dir, timeout, scheduler)
        if log:
            log(f"reference run: {full:.1f} s, {len(reference)} files")
        trials = []
        for k in range(1, runs + 1):
            folder = work / f"run{k:03d}"
            shutil.rmtree(folder, ignore_errors=True)
            prepopulated = k % 2 == 1
            if prepopulated:
                shutil.copytree(ref_dir, folder)
            else:
                folder.mkdir()
            delay = rng.uniform(0.0, full)
            start = time.perf_counter()
            # SIGINT at its default in the child (as in a terminal), even when this
            # script runs in the background of a shell, which ignores SIGINT there; the
            # child leads a process group of its own, which gets the signal as a whole
            proc = subprocess.Popen(command(folder, scheduler), stdout=subprocess.DEVNULL,
                                    stderr=subprocess.PIPE, text=True,
                                    preexec_fn=_default_sigint, start_new_session=True)
            signalled = False
            try:
                proc.wait(timeout=delay)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGINT)
                signalled = True
            try:
                _, err = proc.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                _, err = proc.communicate()
                err += "\n(killed: it did not end after the signal)"
            trial = Trial(k, prepopulated, delay, signalled, proc.returncode,
                          time.perf_counter() - start, err, 0,
                          left=session_processes(proc.pid))
            for pid in trial.left:  # the next run starts clean
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            check(trial, folder, reference)
            trials.append(trial)
            if log:
                state = "interrupted" if signalled else "finished"
                log(f"run {k:3d}: {'full ' if prepopulated else 'empty'} SIGINT at "
                    f"{delay:6.1f} s -> {state}, status {trial.returncode}, "
                    f"{trial.files:2d} files, {trial.seconds:6.1f} s"
                    + (f"  FAILED: {'; '.join(trial.failures)}" if trial.failures else ""))
            if not trial.failures:
                shutil.rmtree(folder, ignore_errors=True)
        return full, trials
    finally:
        if owned:
            shutil.rmtree(work, ignore_errors=True)


def summary(full, trials):
    """Counts of the runs, for the report."""
    return {
        "reference_seconds": round(full, 1),
        "runs": len(trials),
        "interrupted": sum(t.signalled for t in trials),
        "finished": sum(not t.signalled for t in trials),
        "prepopulated": sum(t.prepopulated for t in trials),
        "failed": sum(bool(t.failures) for t in trials),
        "total_seconds": round(sum(t.seconds for t in trials), 1),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50, help="interrupted runs (K)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the signal moments")
    parser.add_argument("--work", default=None,
                        help="scratch folder (kept; failed runs' folders stay in it)")
    parser.add_argument("--json", default=None, help="also write the results as JSON")
    parser.add_argument("--scheduler", default=None,
                        help="figures' --scheduler: 'local' (a Dask LocalCluster), "
                        "'serial' or an address (default: the command's own choice)")
    args = parser.parse_args(argv)
    full, trials = run_trials(args.runs, args.seed, args.work, scheduler=args.scheduler,
                              log=lambda line: print(line, flush=True))
    counts = summary(full, trials)
    print(json.dumps(counts))
    if args.json:
        from symrep.io import atomic_write_text

        atomic_write_text(args.json, json.dumps(
            {"summary": counts, "trials": [asdict(t) for t in trials]}, indent=2) + "\n")
    return 1 if counts["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
