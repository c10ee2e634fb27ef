"""symrep.io: atomic writes, output-path checks and checksummed files.

Ground truth here is the file system itself (what is on disk after a failure or an
interrupt, read back with plain ``open``) and hashlib's SHA-256, not symrep code.
"""

import hashlib
import os
import signal
import stat

import pytest

from symrep import io as sio
from symrep.io import (
    CHECKSUM_MARK,
    atomic_directory,
    atomic_open,
    atomic_path,
    atomic_write_bytes,
    atomic_write_text,
    check_output_dir,
    check_output_file,
    interrupts_deferred,
    read_checksummed,
    write_checksummed,
)


@pytest.fixture
def python_sigint_handler():
    """Python's own SIGINT handler (raise KeyboardInterrupt), whatever earlier tests set."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def names(folder):
    """Every entry of a folder, hidden ones included."""
    return sorted(os.listdir(folder))


def test_atomic_path_renames_into_place_with_the_suffix_kept(tmp_path):
    target = tmp_path / "figure.png"
    with atomic_path(target) as tmp:
        assert tmp.parent == tmp_path and tmp.name.startswith(".figure.png.")
        assert tmp.suffix == ".png"
        tmp.write_bytes(b"new")
        assert not target.exists()
    assert target.read_bytes() == b"new"
    assert names(tmp_path) == ["figure.png"]


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_failure_inside_the_block_keeps_the_old_file(tmp_path, error):
    target = tmp_path / "table.csv"
    target.write_text("old\n")
    with pytest.raises(error), atomic_open(target) as fh:
        fh.write("half a ta")
        raise error
    assert target.read_text() == "old\n"
    assert names(tmp_path) == ["table.csv"]


def test_failure_without_an_old_file_leaves_nothing(tmp_path):
    with pytest.raises(KeyboardInterrupt), atomic_path(tmp_path / "x.pdf") as tmp:
        tmp.write_bytes(b"%PDF-1.4 trunc")
        raise KeyboardInterrupt
    assert names(tmp_path) == []


def test_ctrl_c_right_after_the_temporary_file_is_created_leaves_nothing(
        tmp_path, monkeypatch, python_sigint_handler):
    # SIGINT delivered between mkstemp and the moment the cleanup is armed: without the
    # deferral the KeyboardInterrupt escapes before atomic_path knows the temporary name
    create = sio._temporary_name

    def create_then_interrupt(path):
        tmp = create(path)
        os.kill(os.getpid(), signal.SIGINT)
        return tmp

    monkeypatch.setattr(sio, "_temporary_name", create_then_interrupt)
    target = tmp_path / "fig.png"
    target.write_bytes(b"old")
    body_ran = []
    with pytest.raises(KeyboardInterrupt), atomic_path(target):
        body_ran.append(True)
    assert not body_ran
    assert names(tmp_path) == ["fig.png"] and target.read_bytes() == b"old"


def test_interrupts_deferred_raises_at_the_end_of_the_block(python_sigint_handler):
    steps = []
    with pytest.raises(KeyboardInterrupt), interrupts_deferred():
        os.kill(os.getpid(), signal.SIGINT)
        steps.append("after the signal")
    assert steps == ["after the signal"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_new_files_get_the_umask_permissions_and_old_files_keep_theirs(tmp_path):
    umask = os.umask(0o022)
    try:
        fresh = atomic_write_text(tmp_path / "a.txt", "x")
        assert stat.S_IMODE(fresh.stat().st_mode) == 0o644
        kept = tmp_path / "b.txt"
        kept.write_text("old")
        kept.chmod(0o640)
        atomic_write_text(kept, "new")
        assert stat.S_IMODE(kept.stat().st_mode) == 0o640 and kept.read_text() == "new"
        with atomic_directory(tmp_path / "store") as tmp:
            (tmp / "f").write_text("1")
        assert stat.S_IMODE((tmp_path / "store").stat().st_mode) == 0o755
    finally:
        os.umask(umask)


def test_text_and_bytes_round_trip(tmp_path):
    text = "a,b\r\n1,ü\n"
    assert atomic_write_text(tmp_path / "t.csv", text).read_bytes() == text.encode()
    assert atomic_write_bytes(tmp_path / "b.bin", b"\x00\xff").read_bytes() == b"\x00\xff"


@pytest.mark.parametrize("mode", ["r", "a", "r+"])
def test_atomic_open_refuses_modes_that_do_not_write_a_new_file(tmp_path, mode):
    with pytest.raises(ValueError, match="mode"), atomic_open(tmp_path / "x", mode):
        pass


def test_atomic_directory_replaces_a_folder_or_keeps_it(tmp_path):
    store = tmp_path / "grid.zarr"
    with atomic_directory(store) as tmp:
        (tmp / "v1").write_text("1")
    with atomic_directory(store) as tmp:
        (tmp / "v2").write_text("2")
    assert names(store) == ["v2"] and names(tmp_path) == ["grid.zarr"]
    with pytest.raises(KeyboardInterrupt), atomic_directory(store) as tmp:
        (tmp / "v3").write_text("3")
        raise KeyboardInterrupt
    assert names(store) == ["v2"] and names(tmp_path) == ["grid.zarr"]


def test_check_output_file_and_dir(tmp_path):
    assert check_output_file(tmp_path / "a.csv", suffixes=(".csv",)) == tmp_path / "a.csv"
    with pytest.raises(ValueError, match=r"out = .* must end in \.csv"):
        check_output_file(tmp_path / "a.txt", suffixes=(".csv",))
    with pytest.raises(ValueError, match="is a folder"):
        check_output_file(tmp_path)
    with pytest.raises(ValueError, match="does not exist"):
        check_output_file(tmp_path / "missing" / "a.csv")
    (tmp_path / "a.csv").write_text("x")
    with pytest.raises(ValueError, match="exists already"):
        check_output_file(tmp_path / "a.csv", overwrite=False)
    assert check_output_dir(tmp_path / "new" / "deep").is_dir()
    with pytest.raises(ValueError, match="is a file"):
        check_output_dir(tmp_path / "a.csv")
    assert names(tmp_path) == ["a.csv", "new"]  # the write probes are gone


def test_checksummed_file_round_trip_and_format(tmp_path):
    data = b"DATA = 1\n" + CHECKSUM_MARK + b"0" * 64 + b"\n"  # the mark inside the data
    path = write_checksummed(tmp_path / "c.py", data)
    raw = path.read_bytes()
    assert raw == data + b"\n# symrep-sha256: " + hashlib.sha256(data).hexdigest().encode() \
        + b"\n"
    assert read_checksummed(path) == data


@pytest.mark.parametrize("damage", ["truncate", "empty", "edit", "garbage", "no trailer",
                                    "missing"])
def test_damaged_checksummed_file_reads_as_none(tmp_path, damage):
    path = write_checksummed(tmp_path / "c.py", b"X = 2.5\nY = [1, 2, 3]\n")
    raw = path.read_bytes()
    damaged = {"truncate": raw[: len(raw) // 2], "empty": b"",
               "edit": raw.replace(b"2.5", b"2.6"), "garbage": os.urandom(len(raw)),
               "no trailer": b"X = 2.5\nY = [1, 2, 3]\n", "missing": None}[damage]
    if damaged is None:
        path.unlink()
    else:
        path.write_bytes(damaged)
    assert read_checksummed(path) is None


def test_atomic_write_csv_orders_columns_and_writes_none_as_empty(tmp_path):
    from symrep.io import atomic_write_csv

    rows = [dict(b=1.5, a=None, extra="x"), dict(b=-2, a="y")]
    path = atomic_write_csv(tmp_path / "t.csv", rows, ["a", "b"])
    assert path.read_bytes() == b"a,b\r\n,1.5\r\ny,-2\r\n"
    assert atomic_write_csv(tmp_path / "u.csv", rows[1:]).read_bytes() == b"b,a\r\n-2,y\r\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.csv", "u.csv"]  # no debris
