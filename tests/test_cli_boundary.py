"""``symrep boundary``: the collapse threshold as a curve, against the closed form typed
here (beta_c = alpha s/(lam + alpha) - lam/(alpha s), s = (rho + eta)(1 + eta/(alpha rho)),
above the spectral transition), and the command line's contract."""

import csv

import pytest

from symrep.cli import main


def closed_form(alpha, lam, rho, eta):
    s = (rho + eta) * (1 + eta / (alpha * rho))
    return alpha * s / (lam + alpha) - lam / (alpha * s)


def d_closed_form_d_rho(alpha, lam, rho, eta, h=1e-6):
    return (closed_form(alpha, lam, rho + h, eta) - closed_form(alpha, lam, rho - h, eta)) / (2 * h)


def test_boundary_csv_is_the_closed_form(tmp_path, capsys):
    out = tmp_path / "b.csv"
    assert main(["boundary", "--alpha", "log:2:1000:6", "--lam", "0.5", "--rho", "1.5",
                 "--eta", "0.8", "--out", str(out)]) == 0
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 6
    for row in rows:
        a = float(row["alpha"])
        assert float(row["beta_c"]) == pytest.approx(closed_form(a, 0.5, 1.5, 0.8), rel=1e-12)
        assert float(row["dbeta_c_drho"]) == pytest.approx(
            d_closed_form_d_rho(a, 0.5, 1.5, 0.8), rel=1e-7)
        assert row["found"] == "True"
    assert "6 points, 6 with a collapse threshold" in capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.csv"]


def test_boundary_along_rho(capsys):
    assert main(["boundary", "--alpha", "2", "--vary", "rho", "--rho", "1,3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:5] == ["alpha", "lam", "rho", "eta", "beta_c"]
    # printed to 12 significant digits
    assert float(lines[1].split()[4]) == pytest.approx(closed_form(2, 1, 1, 1), rel=1e-11)
    assert float(lines[2].split()[4]) == pytest.approx(closed_form(2, 1, 3, 1), rel=1e-11)


def test_boundary_without_threshold_fails_or_keeps_going(tmp_path, capsys):
    out = tmp_path / "b.csv"
    assert main(["boundary", "--alpha", "0.5,2", "--out", str(out)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no collapse threshold at (alpha=0.5" in err[0]
    assert not out.exists()
    assert main(["boundary", "--alpha", "0.5,2", "--keep-going", "--out", str(out)]) == 0
    rows = list(csv.DictReader(out.open()))
    assert [r["found"] for r in rows] == ["False", "True"]
    assert rows[0]["beta_c"] == ""  # no NaN written


@pytest.mark.parametrize("argv, needle", [
    (["--alpha", "2", "--along", "lam"], "along = 'lam' is invalid"),
    (["--alpha", "1,2", "--rho", "1,2"], "rho = 1,2 is invalid"),
    (["--alpha", "1:2:100000000"], "--force"),
    (["--alpha", "0"], "alpha"),
    (["--alpha", "2", "--out", "b.txt"], "out"),
])
def test_boundary_bad_input_exits_2(argv, needle, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["boundary", *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and needle in err[0], err
    assert list(tmp_path.iterdir()) == []
