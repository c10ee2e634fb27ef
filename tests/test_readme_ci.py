"""The README's two commands are what .ci/run executes."""

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def readme_command(marker):
    script = f"""awk -v marker='<!-- {marker} -->' '$0 == marker {{getline; getline; print; exit}}' README.md"""
    out = subprocess.run(["bash", "-c", script], cwd=ROOT, capture_output=True, text=True)
    return out.stdout.strip()


def test_ci_reads_both_commands_from_readme():
    setup = readme_command("setup-command")
    tests = readme_command("test-command")
    assert setup.startswith("python3 -m venv .venv") and "torch==2.13.0" in setup
    assert "pytest" in tests
    ci = (ROOT / ".ci" / "run").read_text()
    assert "readme_command setup-command" in ci and "readme_command test-command" in ci
