"""Containers for the suite: podman's environment, a local stand-in for the
official `python:X.Y-slim` image, the service's image, and the baked
Dockerfile read as data (dockerfile.py).

No image registry is reachable here, so the Dockerfile's PYTHON_IMAGE is a
stand-in made on the spot, laid out as the official image is: a Debian
bookworm minbase root file system (debootstrap) with a CPython of the right
version (pyenv's build) under /usr/local, its pip, and the host's CA bundle
and a pip.conf naming it, so that pip in the build reaches PyPI. The
service's Dockerfile never learns of either.

Making the stand-in and building the images take minutes, mostly network and
disk: `images.ImageBuilds` does it in a background thread once the bakes'
own runs are done (conftest.py), and the container tests, which run last, wait for
it.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from contexts import SLUGS

# podman's defaults fail here: crun is not installed, and runc cannot set
# podman's default open-files limit (1048576); nproc must not exceed pid_max.
CONTAINERS_CONF = """\
[engine]
runtime = "runc"

[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
"""

DEBIAN_SUITE = "bookworm"
DEBIAN_MIRROR = "http://deb.debian.org/debian"
# What the official image's Python links against, besides libc.
DEBIAN_PACKAGES = (
    "ca-certificates",
    "netbase",
    "tzdata",
    "libbz2-1.0",
    "libexpat1",
    "libffi8",
    "liblzma5",
    "libncursesw6",
    "libnsl2",
    "libreadline8",
    "libsqlite3-0",
    "libssl3",
    "libtirpc3",
    "libuuid1",
    "zlib1g",
)
# Left out of the copy, as the official image leaves them out (or never has
# them: no Tk in a slim image), and the pyenv build's own packages.
STDLIB_EXCLUDED = (
    "site-packages",
    "test",
    "tests",
    "idle_test",
    "__pycache__",
    "*.a",
    "_tkinter*",
    "tkinter",
    "idlelib",
    "turtledemo",
)
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
# The image's environment, as the official image sets it.
STAND_IN_PATH = "/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin"
# A clean environment for commands run inside the stand-in's root: none of
# the host's pip settings (its find-links and file:// indexes are not there).
CHROOT_ENV = {"PATH": STAND_IN_PATH, "HOME": "/root", "LANG": "C.UTF-8"}

# One image per session, named after it: sessions on one machine share
# podman's storage and must not remove each other's images.
SESSION = f"{os.getpid()}"
# The build's heavy commands yield the CPU to the tests running meanwhile.
NICE = ("nice", "-n", "10")


class Unavailable(Exception):
    """Containers cannot run here; the message says what is missing."""


class Cancelled(Exception):
    """The session ended before the images were made."""


def podman_env(directory: Path) -> dict[str, str]:
    """The environment for podman commands: our containers.conf (written to
    `directory`), podman's default root storage."""
    conf = directory / "containers.conf"
    if not conf.exists():
        directory.mkdir(parents=True, exist_ok=True)
        conf.write_text(CONTAINERS_CONF)
    return {**os.environ, "CONTAINERS_CONF": str(conf)}


def podman_missing(env: Mapping[str, str]) -> str | None:
    """Why podman cannot run containers here, or None when it can."""
    if shutil.which("podman", path=env.get("PATH")) is None:
        return "podman is not installed (Debian: apt-get install podman buildah runc)"
    result = subprocess.run(
        ["podman", "info"], env=dict(env), capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        return f"`podman info` failed: {last}"
    return None


def stand_in_missing() -> str | None:
    """Why the stand-in base image cannot be made here, or None."""
    if os.geteuid() != 0:
        return "the stand-in base image needs root (debootstrap, chroot)"
    if shutil.which("debootstrap") is None:
        return "debootstrap is not installed (Debian: apt-get install debootstrap)"
    return None


def pyenv_prefix(minor: str) -> Path:
    """The newest pyenv build of Python `minor` ("3.11"), as the stand-in's."""
    root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))

    def version(prefix: Path) -> tuple[int, ...]:
        return tuple(int(part) for part in prefix.name.split("."))

    found = [
        prefix
        for prefix in (root / "versions").glob(f"{minor}.*")
        if re.fullmatch(r"\d+\.\d+\.\d+", prefix.name)
        and (prefix / "bin" / f"python{minor}").is_file()
    ]
    if not found:
        raise Unavailable(
            f"no pyenv build of Python {minor} ({root}/versions/{minor}.*):"
            f" the stand-in for python:{minor}-slim is made from one"
        )
    return max(found, key=version)


def stand_in_tag(minor: str) -> str:
    return f"localhost/quart-template-python:{minor}-slim-{SESSION}"


def image_tag(context: str) -> str:
    return f"localhost/{SLUGS[context]}:test-{SESSION}"


@dataclass
class Steps:
    """Runs the build's commands one after the other; `cancel()` stops the
    one running and refuses the next."""

    cancelled: threading.Event = field(default_factory=threading.Event)
    current: subprocess.Popen[str] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def run(
        self,
        args: Sequence[str | os.PathLike[str]],
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        stdin: int | None = None,
        timeout: float = 600,
    ) -> str:
        """Run a command that must succeed; its output, or an error with it."""
        with self.lock:
            if self.cancelled.is_set():
                raise Cancelled(" ".join(map(str, args)))
            process = self.current = subprocess.Popen(
                [str(arg) for arg in args],
                cwd=cwd,
                env=dict(os.environ if env is None else env),
                stdin=subprocess.DEVNULL if stdin is None else stdin,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
        try:
            output, _ = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
        finally:
            with self.lock:
                self.current = None
        if self.cancelled.is_set():
            raise Cancelled(" ".join(map(str, args)))
        if process.returncode != 0:
            raise RuntimeError(
                f"{' '.join(map(str, args))} exited {process.returncode}:\n"
                + "\n".join(output.splitlines()[-60:])
            )
        return output

    def cancel(self) -> None:
        with self.lock:
            self.cancelled.set()
            if self.current is not None:
                self.current.terminate()


def make_stand_in(
    minor: str, tag: str, workdir: Path, env: Mapping[str, str], steps: Steps
) -> None:
    """Import a stand-in for python:<minor>-slim into podman as `tag`."""
    prefix = pyenv_prefix(minor)
    rootfs = workdir / "rootfs"
    try:
        steps.run(
            [
                *NICE,
                *("debootstrap", "--variant=minbase"),
                f"--include={','.join(DEBIAN_PACKAGES)}",
                *(DEBIAN_SUITE, rootfs, DEBIAN_MIRROR),
            ]
        )
        place_python(prefix, minor, rootfs, steps)
        # The host's CA bundle: pip in the build reaches PyPI through it.
        shutil.copyfile(HOST_CA_BUNDLE, rootfs / HOST_CA_BUNDLE.relative_to("/"))
        (rootfs / "etc" / "pip.conf").write_text(f"[global]\ncert = {HOST_CA_BUNDLE}\n")
        import_rootfs(rootfs, tag, prefix.name, env, steps)
    finally:
        shutil.rmtree(rootfs, ignore_errors=True)


def place_python(prefix: Path, minor: str, rootfs: Path, steps: Steps) -> None:
    """Copy CPython from `prefix` to the root's /usr/local, as the official
    image lays it out, and check that it finds every library it needs."""
    local = rootfs / "usr" / "local"
    for cache in ("var/cache/apt/archives", "var/lib/apt/lists"):
        for path in (rootfs / cache).glob("*"):
            if path.is_file():
                path.unlink()
    for directory in ("bin", "lib", "include"):
        (local / directory).mkdir(parents=True, exist_ok=True)
    shutil.copy2(prefix / "bin" / f"python{minor}", local / "bin")
    for library in (prefix / "lib").glob("libpython*.so*"):
        shutil.copy2(library, local / "lib", follow_symlinks=False)
    excluded = [f"--exclude={pattern}" for pattern in STDLIB_EXCLUDED]
    steps.run(
        [
            "sh",
            "-c",
            f"tar -C {shlex.quote(str(prefix / 'lib'))} -c {shlex.join(excluded)}"
            f" python{minor} | tar -C {shlex.quote(str(local / 'lib'))} -x",
        ]
    )
    (local / "lib" / f"python{minor}" / "site-packages").mkdir()
    headers = prefix / "include" / f"python{minor}"
    shutil.copytree(headers, local / "include" / headers.name, symlinks=True)

    def chroot(*args: str) -> str:
        return steps.run(["chroot", rootfs, *args], env=CHROOT_ENV)

    # pyenv's python looks for libpython in pyenv's directory (its RUNPATH):
    # here the loader's cache finds it in /usr/local/lib, as in the official image.
    chroot("/sbin/ldconfig")
    chroot(f"/usr/local/bin/python{minor}", "-m", "ensurepip", "--default-pip")
    for link, target in (("python3", f"python{minor}"), ("python", "python3")):
        (local / "bin" / link).symlink_to(target)
    missing = chroot(
        "sh",
        "-c",
        f"for f in /usr/local/bin/python{minor} /usr/local/lib/python{minor}"
        '/lib-dynload/*.so; do ldd $f | sed -n "s|^|$f: |; /not found/p"; done',
    )
    if missing.strip():
        raise RuntimeError(f"the stand-in's Python misses libraries:\n{missing}")
    chroot("python3", "-c", "import ctypes, sqlite3, ssl, uuid, zlib, lzma, bz2")


def import_rootfs(
    rootfs: Path, tag: str, version: str, env: Mapping[str, str], steps: Steps
) -> None:
    changes = [
        f"ENV PATH={STAND_IN_PATH}",
        "ENV LANG=C.UTF-8",
        f"ENV PYTHON_VERSION={version}",
        'CMD ["python3"]',
    ]
    tar = subprocess.Popen(
        ["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE
    )
    assert tar.stdout is not None
    try:
        steps.run(
            [
                *("podman", "import"),
                *(f"--change={change}" for change in changes),
                *("-", tag),
            ],
            env=env,
            stdin=tar.stdout.fileno(),
        )
    finally:
        tar.stdout.close()
        tar.wait()
