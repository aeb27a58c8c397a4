"""The checks make serve runs before the server: one line and exit status 2
for what must stop the start; a crashed server's socket cleared."""

{% if cookiecutter.asgi_server == 'granian' -%}
import os
{% endif -%}
import runpy
import socket
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from {{ cookiecutter.project_slug }}.core.settings import ENV_PREFIX
from {{ cookiecutter.project_slug }}.preflight import main


@pytest.fixture
def short_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory whose socket paths fit a unix socket's 107 bytes."""
    return tmp_path_factory.mktemp("s")


@pytest.fixture
def live_socket(short_dir: Path) -> Iterator[Path]:
    """A socket another server is listening on."""
    path = short_dir / "live.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(str(path))
        server.listen()
        yield path


def stale_socket(directory: Path) -> Path:
    """A socket file left behind by a server killed with SIGKILL."""
    path = directory / "stale.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as crashed:
        crashed.bind(str(path))
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    status = main(list(argv))
    return status, capsys.readouterr().err


def test_a_tcp_bind_with_good_settings_passes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run(capsys, "127.0.0.1:8000", "1") == (0, "")


def test_it_runs_as_a_module(monkeypatch: pytest.MonkeyPatch) -> None:
    module = "{{ cookiecutter.project_slug }}.preflight"
    monkeypatch.setattr(sys, "argv", [module, "127.0.0.1:8000", "1"])
    monkeypatch.delitem(sys.modules, module)  # run afresh, as `python -m` does

    with pytest.raises(SystemExit) as exited:
        runpy.run_module(module, run_name="__main__")

    assert exited.value.code == 0


def test_a_bad_setting_stops_the_start_with_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(f"{ENV_PREFIX}_LOG_FORMAT", "xml")

    status, error = run(capsys, "127.0.0.1:8000", "1")

    assert status == 2
    assert error == (
        f"error: setting LOG_FORMAT = 'xml' (environment: {ENV_PREFIX}_LOG_FORMAT):"
        " input should be 'json' or 'text'\n"
    )


BAD_BINDS = {
    "127.0.0.1:": "the port is missing",
    "[::1]": "the port is missing",
    "8000": "the host or the port is missing",
    ":8000": "the host is missing",
    "127.0.0.1:0": "the port 0 is not a number from 1 to 65535",
    "127.0.0.1:65536": "the port 65536 is not a number from 1 to 65535",
    "127.0.0.1:http": "the port http is not a number from 1 to 65535",
    "127.0.0.1:\u0668": "the port \u0668 is not a number from 1 to 65535",
    "::1:8000": "an IPv6 address goes in brackets",
    "[::g]:8000": "[::g] is not an IPv6 address",
    "local host:8000": "local host is not a host name or an IP address",
    "unix:": "the socket's path is missing",
}


@pytest.mark.parametrize("bind", BAD_BINDS)
def test_a_malformed_bind_stops_the_start_with_one_line(
    capsys: pytest.CaptureFixture[str], bind: str
) -> None:
    """Before the app is even built: the server would stop with a usage
    error of its own, or listen where nobody meant it to."""
    status, error = run(capsys, bind, "1")

    assert status == 2
    forms = "host:port, [::1]:port or unix:/path/to.sock"
    assert error == f"error: BIND={bind}: {BAD_BINDS[bind]} (use {forms})\n"


@pytest.mark.parametrize("bind", ["localhost:8000", "0.0.0.0:1", "[::1]:65535"])
def test_host_names_ipv4_and_bracketed_ipv6_addresses_pass(
    capsys: pytest.CaptureFixture[str], bind: str
) -> None:
    assert run(capsys, bind, "1") == (0, "")


{%- if cookiecutter.asgi_server == 'granian' %}


@pytest.mark.parametrize("workers", ["0", "-1", "two", ""])
def test_workers_must_be_a_whole_number_from_1(
    capsys: pytest.CaptureFixture[str], workers: str
) -> None:
    status, error = run(capsys, "127.0.0.1:8000", workers)

    assert status == 2
    assert error == f"error: WORKERS={workers}: must be a whole number, 1 or more\n"


def test_several_workers_are_allowed(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "127.0.0.1:8000", "4") == (0, "")
{%- else %}


@pytest.mark.parametrize("workers", ["2", "0", "two"])
def test_one_process_only(capsys: pytest.CaptureFixture[str], workers: str) -> None:
    status, error = run(capsys, "127.0.0.1:8000", workers)

    assert status == 2
    assert error.startswith(f"error: WORKERS={workers}: {{ cookiecutter.asgi_server }} serves from one")
    assert error.count("\n") == 1
{%- endif %}


def test_a_stale_socket_is_cleared(
    capsys: pytest.CaptureFixture[str], short_dir: Path
) -> None:
    path = stale_socket(short_dir)

    assert run(capsys, f"unix:{path}", "1") == (0, "")
{%- if cookiecutter.asgi_server == 'uvicorn' %}
    # In its place, a socket file for owner and group, whose mode uvicorn keeps.
    mode = path.lstat().st_mode
    assert stat.S_ISSOCK(mode)
    assert stat.S_IMODE(mode) == 0o660
{%- else %}
    assert not path.exists()
{%- endif %}


def test_a_live_socket_stops_the_start_and_is_left_alone(
    capsys: pytest.CaptureFixture[str], live_socket: Path
) -> None:
    status, error = run(capsys, f"unix:{live_socket}", "1")

    assert status == 2
    assert error == (
        f"error: unix:{live_socket}: another server is listening there; stop it first\n"
    )
    assert stat.S_ISSOCK(live_socket.lstat().st_mode)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        client.connect(str(live_socket))  # still its server's


def test_a_new_socket_path_is_fine(
    capsys: pytest.CaptureFixture[str], short_dir: Path
) -> None:
    assert run(capsys, f"unix:{short_dir / 'new.sock'}", "1") == (0, "")


def test_a_path_that_is_not_a_socket_stops_the_start(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("keep me")

    status, error = run(capsys, f"unix:{path}", "1")

    assert (status, error) == (
        2,
        f"error: unix:{path}: the path exists and is not a socket\n",
    )
    assert path.read_text() == "keep me"


def test_a_missing_directory_stops_the_start(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "missing" / "svc.sock"

    status, error = run(capsys, f"unix:{path}", "1")

    assert status == 2
    assert error == f"error: unix:{path}: the directory {path.parent} does not exist\n"


@pytest.mark.parametrize(
    ("failure", "expected"),
    [
        (PermissionError(13, "Permission denied"), "[Errno 13] Permission denied"),
        (TimeoutError("timed out"), "another server is listening there"),
    ],
    ids=["unreadable", "too-busy-to-answer"],
)
def test_a_socket_that_cannot_be_probed_stops_the_start(
    capsys: pytest.CaptureFixture[str],
    short_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    failure: OSError,
    expected: str,
) -> None:
    """An error names itself; a server too busy to answer counts as live."""
    path = stale_socket(short_dir)

    def connect(self: socket.socket, address: str) -> None:
        raise failure

    monkeypatch.setattr(socket.socket, "connect", connect)

    status, error = run(capsys, f"unix:{path}", "1")

    assert status == 2
    assert error.startswith(f"error: unix:{path}: ")
    assert expected in error
    assert stat.S_ISSOCK(path.lstat().st_mode)
{%- if cookiecutter.asgi_server == 'granian' %}


@pytest.fixture
def metrics_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """make serve's METRICS_DIR, as it passes it on."""
    path = tmp_path / "metrics"
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(path))
    return path


def test_the_metrics_directory_is_made_for_this_user_only(
    capsys: pytest.CaptureFixture[str], metrics_dir: Path
) -> None:
    assert run(capsys, "127.0.0.1:8000", "2") == (0, "")
    assert stat.S_IMODE(metrics_dir.stat().st_mode) == 0o700
    assert list(metrics_dir.iterdir()) == []


def test_an_earlier_runs_metrics_are_cleared(
    capsys: pytest.CaptureFixture[str], metrics_dir: Path
) -> None:
    metrics_dir.mkdir()
    stale = metrics_dir / "counter_4242.db"
    stale.write_bytes(b"figures of a worker of the last run")

    assert run(capsys, "127.0.0.1:8000", "2") == (0, "")
    assert not stale.exists()


def test_what_building_the_app_wrote_is_taken_out(
    capsys: pytest.CaptureFixture[str], metrics_dir: Path
) -> None:
    metrics_dir.mkdir()
    own = metrics_dir / f"gauge_livesum_{os.getpid()}.db"
    own.write_bytes(b"what the app preflight builds writes in multiprocess mode")

    assert run(capsys, "127.0.0.1:8000", "2") == (0, "")
    assert not own.exists()


def test_a_live_instances_metrics_are_left_alone(
    capsys: pytest.CaptureFixture[str], metrics_dir: Path, live_socket: Path
) -> None:
    metrics_dir.mkdir()
    live = metrics_dir / "counter_4242.db"
    live.write_bytes(b"figures of the instance on that socket")

    status, _ = run(capsys, f"unix:{live_socket}", "2")

    assert status == 2
    assert live.exists()


def test_a_metrics_directory_that_is_a_link_stops_the_start(
    capsys: pytest.CaptureFixture[str], metrics_dir: Path, tmp_path: Path
) -> None:
    (tmp_path / "elsewhere").mkdir()
    metrics_dir.symlink_to(tmp_path / "elsewhere")

    status, error = run(capsys, "127.0.0.1:8000", "2")

    assert (status, error) == (
        2,
        f"error: PROMETHEUS_MULTIPROC_DIR={metrics_dir}: not a directory of"
        " this user's\n",
    )
{%- endif %}
