"""The README's two commands are what .ci/run executes."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def readme_command(marker):
    """The line two below ``<!-- marker -->`` (after the opening fence), as .ci/run reads it."""
    lines = (ROOT / "README.md").read_text().splitlines()
    i = lines.index(f"<!-- {marker} -->")
    assert lines[i + 1].startswith("```")
    return lines[i + 2]


def test_ci_reads_both_commands_from_readme():
    setup = readme_command("setup-command")
    tests = readme_command("test-command")
    assert setup.startswith("python3 -m venv .venv") and "torch==2.13.0" in setup
    assert "pytest" in tests
    ci = (ROOT / ".ci" / "run").read_text()
    assert "readme_command setup-command" in ci and "readme_command test-command" in ci
