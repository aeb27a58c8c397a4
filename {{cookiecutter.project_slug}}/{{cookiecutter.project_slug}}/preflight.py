"""Checks run before the server starts (`make serve`, and deploy/systemd's
ExecStartPre), as `python -m {{ cookiecutter.project_slug }}.preflight BIND
WORKERS`.

The app loads (a bad setting exits 2 with one line naming it), BIND is
`host:port` or `unix:/path`, {% if cookiecutter.asgi_server == 'granian' %}WORKERS a whole number, 1 or more{% else %}WORKERS is 1 (docs/serving.md says why){% endif %}, and a unix
socket left by a crash is removed while a live one stops the start.
{%- if cookiecutter.asgi_server == 'uvicorn' %} A socket
file is made ready with mode 0o660.{% endif %}
{%- if cookiecutter.asgi_server == 'granian' %} The
workers' metrics directory is emptied and owned by the service user.{% endif %}
`--app` runs the app check alone, before `make run`'s development server.
"""

from __future__ import annotations

import ipaddress
{% if cookiecutter.asgi_server == 'granian' -%}
import os
{% endif -%}
import re
import socket
import stat
import sys
from pathlib import Path

from .core.settings import SettingsError


class PreflightError(RuntimeError):
    """The server must not start; the message says why."""


HOST_NAME = re.compile(r"[A-Za-z0-9.-]+")  # a name or an IPv4 address
BIND_FORMS = "host:port, [::1]:port or unix:/path/to.sock"


def check_bind(bind: str) -> None:
    """BIND is an address every asgi_server reads the same way."""
    problem = bind_problem(bind)
    if problem is not None:
        raise PreflightError(f"BIND={bind}: {problem} (use {BIND_FORMS})")


def bind_problem(bind: str) -> str | None:
    if bind.startswith("unix:"):
        return "the socket's path is missing" if bind == "unix:" else None
    host, colon, port = bind.rpartition(":")
    if not colon:
        return "the host or the port is missing"
    if not host:
        return "the host is missing"
    if not port or (host.startswith("[") and not host.endswith("]")):
        return "the port is missing"
    if host.startswith("["):
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            return f"{host} is not an IPv6 address"
    elif ":" in host:
        return "an IPv6 address goes in brackets"
    elif not HOST_NAME.fullmatch(host):
        return f"{host} is not a host name or an IP address"
    if not (port.isascii() and port.isdigit() and 1 <= int(port) <= 65535):
        return f"the port {port} is not a number from 1 to 65535"
    return None


def check_app() -> None:
    """Build the app as the server will, from the same settings."""
    from .app import create_app

    try:
        create_app()
    except SettingsError as error:
        raise PreflightError(str(error)) from None


def check_workers(workers: str) -> None:
{%- if cookiecutter.asgi_server == 'granian' %}
    if not (workers.isdigit() and int(workers) >= 1):
        raise PreflightError(f"WORKERS={workers}: must be a whole number, 1 or more")
{%- else %}
    if workers != "1":
        raise PreflightError(
            f"WORKERS={workers}: {{ cookiecutter.asgi_server }} serves from one process, because its"
            " worker processes cannot refuse new connections while they drain"
            " (see docs/serving.md); run more instances behind the gateway"
        )
{%- endif %}


def is_listening(path: Path) -> bool:
    """Whether a server listens on the unix socket at `path` (one too busy to
    take the connection within a second counts)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(1)
        try:
            probe.connect(str(path))
        except (ConnectionRefusedError, FileNotFoundError):
            return False
        except TimeoutError:
            return True
    return True


def prepare_socket(path: Path) -> None:
    """Clear the way for the server to listen on the unix socket `path`."""
    if not path.parent.is_dir():
        raise PreflightError(f"unix:{path}: the directory {path.parent} does not exist")
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        mode = None
    if mode is not None:
        if not stat.S_ISSOCK(mode):
            raise PreflightError(f"unix:{path}: the path exists and is not a socket")
        if is_listening(path):
            raise PreflightError(
                f"unix:{path}: another server is listening there; stop it first"
            )
        path.unlink()  # left behind by a server that did not stop cleanly
{%- if cookiecutter.asgi_server == 'uvicorn' %}
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as placeholder:
        placeholder.bind(str(path))
    path.chmod(0o660)
{%- endif %}


{%- if cookiecutter.asgi_server == 'granian' %}


def metrics_directory(path: Path) -> None:
    """Create the directory where the workers keep their metrics (the app
    preflight builds writes there too): this user's own, not a link."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = path.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
        raise PreflightError(
            f"PROMETHEUS_MULTIPROC_DIR={path}: not a directory of this user's"
        )


def empty_metrics_directory(path: Path) -> None:
    """Remove an earlier run's figures (and the app preflight built), which
    a scrape would add to this run's. Only once the address is known to be
    free: another instance on it would lose its figures."""
    for stale in path.glob("*.db"):
        stale.unlink()
{%- endif %}


def failed(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def main(argv: list[str]) -> int:
    if argv == ["--app"]:  # make run
        try:
            check_app()
        except PreflightError as error:
            return failed(str(error))
        return 0
    bind, workers = argv
{%- if cookiecutter.asgi_server == 'granian' %}
    metrics = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
{%- endif %}
    try:
        check_bind(bind)
        check_workers(workers)
{%- if cookiecutter.asgi_server == 'granian' %}
        if metrics:
            metrics_directory(Path(metrics))
{%- endif %}
        check_app()
        if bind.startswith("unix:"):
            prepare_socket(Path(bind.removeprefix("unix:")))
{%- if cookiecutter.asgi_server == 'granian' %}
        if metrics:
            empty_metrics_directory(Path(metrics))
{%- endif %}
    except PreflightError as error:
        message = str(error)
    except OSError as error:
        message = f"{bind}: {error}"
    else:
        return 0
    return failed(message)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
