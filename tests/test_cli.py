"""The console entry point: help, version and exit codes."""

import subprocess
import sys

from urbangrid import __version__
from urbangrid.cli import main


def test_version_flag_prints_package_version(capsys):
    try:
        main(["--version"])
    except SystemExit as exc:
        assert exc.code == 0
    assert __version__ in capsys.readouterr().out


def test_no_command_prints_help_and_exits_2(capsys):
    assert main([]) == 2
    assert "usage: urbangrid" in capsys.readouterr().out


def test_console_script_runs_as_module():
    proc = subprocess.run(
        [sys.executable, "-m", "urbangrid.cli", "--help"],
        capture_output=True, text=True, check=False,
    )
    assert proc.returncode == 0
    assert "COMMAND" in proc.stdout
