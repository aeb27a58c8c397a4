"""A throwaway PostgreSQL server for the tests, from the machine's binaries.

`PostgresCluster` makes a cluster in a temporary directory (initdb), serves
it on a free loopback port, and removes it all afterwards: about a second.
Run as root (a CI container), the server runs as the `postgres` user, since
PostgreSQL refuses to run as root.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType

# Speed over durability: the data is thrown away after the tests.
SERVER_OPTIONS = (
    "-c listen_addresses=127.0.0.1 -c unix_socket_directories=''"
    " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
)


def find_binaries() -> Path:
    """The directory holding initdb and pg_ctl, or RuntimeError saying what to do."""
    on_path = shutil.which("pg_ctl")
    candidates = [Path(on_path).parent] if on_path else []
    # Debian and Ubuntu keep them out of PATH, one directory per version.
    candidates += [Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"))]
    for directory in reversed(candidates):
        if (directory / "initdb").exists():
            return directory
    raise RuntimeError(
        "PostgreSQL's initdb and pg_ctl are not installed: install PostgreSQL"
        " (apt-get install postgresql) or set TEST_DATABASE_URL"
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class PostgresCluster:
    """A PostgreSQL server of its own: `with PostgresCluster() as cluster:`."""

    def __init__(self) -> None:
        self.binaries = find_binaries()
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="postgres-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.as_postgres = os.geteuid() == 0
        self.running = False

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def run(self, tool: str, *args: str) -> None:
        command = [str(self.binaries / tool), *args]
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, cwd=self.root)

    def create(self) -> None:
        if self.as_postgres:
            self.root.chmod(0o755)
            shutil.chown(self.root, "postgres")
        self.run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres")

    def start(self) -> None:
        options = f"-p {self.port} {SERVER_OPTIONS}"
        data, log = str(self.data), str(self.log)
        self.run("pg_ctl", "-D", data, "-l", log, "-o", options, "-w", "start")
        self.running = True

    def stop(self) -> None:
        self.run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        self.running = False

    def __enter__(self) -> PostgresCluster:
        try:
            self.create()
            self.start()
        except BaseException:
            shutil.rmtree(self.root, ignore_errors=True)
            raise
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _error: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        try:
            if self.running:
                self.stop()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
