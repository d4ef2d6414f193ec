"""`python -m fastconv demo` (also the default command) must run and pass its checks."""
import subprocess
import sys

from fastconv import demo
from fastconv.__main__ import main


def test_demo_checks_pass(capsys):
    assert demo.run(quick=True) == 0
    out = capsys.readouterr().out
    assert "MISMATCH" not in out and "All checks passed." in out


def test_config_flag(capsys):
    assert main(["--config"]) == 0
    assert "openmp" in capsys.readouterr().out


def test_module_runs_as_a_program():
    result = subprocess.run([sys.executable, "-m", "fastconv", "demo", "--quick", "--threads", "1"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 threads" in result.stdout
