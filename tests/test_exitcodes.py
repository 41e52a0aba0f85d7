"""The `lab` command's exit statuses: one enum, and each kind of failure gets its own."""

import pytest

from lab import cli
from lab.errors import BuildError, UsageError
from lab.exitcodes import ExitStatus, run_exit_status


@pytest.mark.parametrize(
    ("states", "status"),
    [
        (["pass", "skip"], ExitStatus.OK),
        (["pass", "infra"], ExitStatus.INFRA),
        (["infra", "fail", "pass"], ExitStatus.FAILED),
        ([], ExitStatus.OK),
    ],
)
def test_a_run_s_status_puts_failures_before_infra(states, status):
    assert run_exit_status(states) == status


def test_the_statuses_are_the_documented_numbers():
    assert [int(s) for s in ExitStatus] == [0, 1, 2, 3, 130]


@pytest.mark.parametrize(
    ("error", "status", "printed"),
    [
        (UsageError("unknown suite 'x'"), ExitStatus.BAD_INPUT, "lab: error: unknown suite 'x'"),
        (
            BuildError("x86_64 kernel build failed\nmm/memory.c:1: error: x", log="/c/build.log"),
            ExitStatus.INFRA,
            "lab: build: x86_64 kernel build failed; log: /c/build.log",
        ),
    ],
)
def test_errors_end_the_command_with_their_status(monkeypatch, capsys, error, status, printed):
    def fail(args):
        raise error

    monkeypatch.setattr(cli, "cmd_build", fail)
    assert cli.main(["build", "--arch", "x86_64"]) == status
    assert printed in capsys.readouterr().err


def test_a_build_error_keeps_its_log_and_its_errors_apart():
    error = BuildError("ppc64 kernel build failed\nmm/memory.c:1: error: x", log="/c/b.log")
    assert (error.summary, error.details, error.log) == (
        "ppc64 kernel build failed",
        "mm/memory.c:1: error: x",
        "/c/b.log",
    )
    assert str(error) == "ppc64 kernel build failed; log: /c/b.log\nmm/memory.c:1: error: x"
