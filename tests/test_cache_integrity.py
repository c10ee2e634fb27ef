"""Caches and checkpoints detect damage and recompute instead of trusting it.

For each store (the generated-code cache, the large-alpha expansion cache, the sweep
checkpoint chunks): a truncated file, an empty one, one with a single constant edited,
random bytes and a file without checksum are all regenerated, give the right numbers and
do not crash; an intact store is used as it is. The right numbers come from sources
that do not read the damaged file: plain Python arithmetic for the toy module, the
intact expansion for the large-alpha cache, a sweep without checkpoints for the chunks.
"""

import os
import sys

import numpy as np
import pytest
import sympy as sp

from symrep.io import read_checksummed, write_checksummed
from symrep.numeric import codegen

DAMAGES = ["truncated", "truncated, still imports", "empty", "one constant edited",
           "garbage", "no checksum (old format)"]


def damage(path, how, constant=None):
    """Damage a checksummed file in place (``constant``: bytes whose last digit is edited)."""
    raw = path.read_bytes()
    source = read_checksummed(path)
    assert source is not None, "the file was not intact before the damage"
    if how == "truncated":
        out = raw[: len(raw) // 2]
    elif how == "truncated, still imports":  # cut before the last function: valid Python
        out = source[: source.rindex(b"\ndef ") + 1]
        compile(out, "cut", "exec")
    elif how == "empty":
        out = b""
    elif how == "one constant edited":
        assert constant in raw
        out = raw.replace(constant, constant[:-1] + bytes([constant[-1] ^ 1]), 1)
    elif how == "garbage":
        out = os.urandom(len(raw))
    elif how == "no checksum (old format)":
        out = source
    path.write_bytes(out)
    return out


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("SYMREP_CACHE_DIR", str(tmp_path))
    return tmp_path


# --- generated code ----------------------------------------------------------------------

X = sp.Symbol("x")
TOY = {"affine": ([X], [X * sp.Float(2.5) + 7]), "square": ([X], [X**2 + sp.Float(0.75)])}
KEY = "0123456789abcdef" * 4


def toy_module(monkeypatch, calls):
    monkeypatch.delitem(sys.modules, f"_symrep_generated_toy_{KEY[:16]}", raising=False)

    def build():
        calls.append(1)
        return codegen.generate_source(TOY, header="toy", module="math")

    return codegen.load_or_generate("toy", KEY, build)


def check_toy(module):
    # independent truth: the same formulas in plain Python
    for x in (-1.5, 0.0, 3.0):
        assert module.affine(x) == [2.5 * x + 7]
        assert module.square(x) == [x * x + 0.75]


@pytest.mark.parametrize("how", DAMAGES)
def test_damaged_generated_module_is_regenerated(cache_dir, monkeypatch, how):
    calls = []
    check_toy(toy_module(monkeypatch, calls))
    (path,) = cache_dir.glob("toy_*.py")
    damage(path, how, constant=b"2.5")
    calls.clear()
    check_toy(toy_module(monkeypatch, calls))
    assert calls == [1]
    assert read_checksummed(path) is not None  # repaired on disk as well
    calls.clear()
    check_toy(toy_module(monkeypatch, calls))
    assert calls == []


def test_intact_generated_module_is_used_not_regenerated(cache_dir, monkeypatch):
    calls = []
    toy_module(monkeypatch, calls)
    calls.clear()
    check_toy(toy_module(monkeypatch, calls))
    assert calls == []


def test_read_only_cache_folder_compiles_in_memory(tmp_path, monkeypatch):
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    monkeypatch.setenv("SYMREP_CACHE_DIR", str(blocked / "cache"))
    calls = []
    check_toy(toy_module(monkeypatch, calls))
    assert calls == [1]


def test_saddle_point_code_with_one_constant_edited_is_regenerated(tmp_path, monkeypatch):
    # the real generated module: one edited coefficient must not give wrong numbers
    from symrep.numeric import system

    good = system.generated("numpy")  # from the user's cache (generated there if needed)
    key = codegen.source_key(system._SOURCES, extra=("numpy",))
    source = read_checksummed(codegen.cache_dir() / f"saddle_point_numpy_{key[:16]}.py")
    if source is None:
        pytest.skip("the generated module is not in a writable cache")
    monkeypatch.setenv("SYMREP_CACHE_DIR", str(tmp_path))
    name = f"_symrep_generated_saddle_point_numpy_{key[:16]}"
    calls = []

    def load():
        monkeypatch.delitem(sys.modules, name, raising=False)
        return codegen.load_or_generate("saddle_point_numpy", key,
                                        lambda: calls.append(1) or source.decode())

    load()
    (path,) = tmp_path.glob("saddle_point_numpy_*.py")
    edited = damage(path, "one constant edited", constant=b" 4*")
    point = [np.array([v]) for v in (0.8, 0.3, 0.5, 0.6, 0.4, 2.0, 0.1, 1.5,
                                     2.0, 0.5, 1.0, 1.0, 1.0)]

    def values(module):
        return np.concatenate([np.ravel(v) for f in ("free_energy", "residual",
                                                      "residual_jacobian", "observables")
                               for v in getattr(module, f)(*point)])

    # the edit matters: run as it is, the damaged file gives other numbers
    damaged = codegen._exec_source(edited.decode(), "damaged")
    assert not np.array_equal(values(damaged), values(good))
    calls.clear()
    assert np.array_equal(values(load()), values(good))
    assert calls == [1]


# --- large-alpha expansion ---------------------------------------------------------------

@pytest.mark.parametrize("how", [d for d in DAMAGES if d != "truncated, still imports"])
def test_damaged_large_alpha_cache_is_derived_again(tmp_path, monkeypatch, how):
    from symrep.asymptotics import large_alpha as la

    good = la.large_alpha_expansion()  # the expansion in the user's cache
    key = la._cache_key()
    name = f"_symrep_generated_large_alpha_{key[:16]}"
    monkeypatch.setenv("SYMREP_CACHE_DIR", str(tmp_path))
    # the package's own copy is for its sources as they are; the cache serves edited ones
    monkeypatch.setattr(codegen, "SHIPPED", tmp_path / "no-shipped-copy")
    calls = []
    # a stand-in for the 20 s SymPy derivation that returns the intact expansion
    monkeypatch.setattr(la, "derive_large_alpha_expansion",
                        lambda: calls.append(1) or good)

    def load():
        monkeypatch.delitem(sys.modules, name, raising=False)
        return la.large_alpha_expansion.__wrapped__()

    load()
    (path,) = tmp_path.glob("large_alpha_*.py")
    damage(path, how, constant=b"Integer(2")
    calls.clear()
    again = load()
    assert calls == [1]
    for field in la._FIELDS:
        assert getattr(again, field) == getattr(good, field), field
    calls.clear()
    load()
    assert calls == []  # the repaired cache is used


# --- sweep checkpoints -------------------------------------------------------------------

@pytest.mark.parametrize("how", ["truncated", "empty", "one value edited", "garbage",
                                 "no checksum (old format)"])
def test_damaged_sweep_checkpoint_chunk_is_solved_again(tmp_path, monkeypatch, how):
    import symrep.solvers.sweep_grid as sg
    from symrep import sweep

    alpha = np.linspace(0.2, 4.0, 30)
    fresh = sweep(alpha=alpha, beta=0.5, lam=1.0, chunk_size=10)  # no checkpoint at all
    sweep(alpha=alpha, beta=0.5, lam=1.0, chunk_size=10, checkpoint=tmp_path)
    chunks = sorted(tmp_path.glob("sweep_*.npz"))
    assert len(chunks) == 3
    value = fresh["eg"].values[14].tobytes()  # a number stored in the middle chunk
    damage(chunks[1], "one constant edited" if how == "one value edited" else how,
           constant=value)
    solved = []
    solve_arrays = sg.solve_arrays
    monkeypatch.setattr(sg, "solve_arrays",
                        lambda *a, **k: solved.append(a[0].copy()) or solve_arrays(*a, **k))
    again = sweep(alpha=alpha, beta=0.5, lam=1.0, chunk_size=10, checkpoint=tmp_path)
    assert len(solved) == 1 and np.array_equal(solved[0], alpha[10:20])
    for name in fresh.data_vars:
        assert np.array_equal(again[name].values, fresh[name].values), name
    with np.load(chunks[1]) as data:  # repaired, and still a plain .npz for NumPy
        assert np.array_equal(data["eg"], fresh["eg"].values[10:20])


# --- machine code compiled from the generated modules ------------------------------------

@pytest.mark.parametrize("how", ["truncated", "empty", "garbage", "no checksum (old format)",
                                 "intact checksum, not a pickle"])
def test_damaged_machine_code_is_compiled_again(tmp_path, monkeypatch, how):
    from symrep.numeric import compiled as cp
    from symrep.numeric.unit_map import unit_functions

    if not cp.available():
        pytest.skip("symengine with its LLVM backend is not installed")
    monkeypatch.setenv("SYMREP_CACHE_DIR", str(tmp_path))
    module = unit_functions("numpy")
    x = np.abs(np.random.default_rng(2).normal(size=(8, 50))) + 0.5
    want = np.array(cp.compiled(module).map_step(*x))  # compiled, written to the cache
    (path,) = (tmp_path / "compiled").glob("map_step_*.pkl")
    if how == "intact checksum, not a pickle":  # e.g. written by another symengine build
        write_checksummed(path, b"not machine code")
    else:
        damage(path, how)
    got = np.array(cp.compiled(module).map_step(*x))  # a new instance reads the cache
    assert np.array_equal(got, want)
    data = read_checksummed(path)
    assert data is not None and data != b"not machine code"  # compiled again, rewritten
