"""The session's images, made in a background thread: the stand-in base
(containers.py), the default bake's image on it, and a stand-in for the
official nginx image (compose.yaml's gateway) on the same system."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from containers import (
    NICE,
    SESSION,
    Steps,
    Unavailable,
    image_tag,
    make_stand_in,
    podman_missing,
    stand_in_missing,
    stand_in_tag,
)
from contexts import CONTEXTS, SLUGS, python_of
from helpers import COOKIECUTTER, TEMPLATE_DIR
from pods import Pod, play, tear_down


def bake_context(context: str, output: Path, steps: Steps) -> Path:
    """Bake `context` with cookiecutter in a subprocess (cookiecutter changes
    the working directory, which a thread must leave alone)."""
    config = output / "cookiecutter.yaml"
    config.write_text(
        f"cookiecutters_dir: {output / 'templates'}\nreplay_dir: {output / 'replay'}\n"
    )
    steps.run(
        [
            *(COOKIECUTTER, "--no-input", "--output-dir", output / "bake"),
            *("--config-file", config, TEMPLATE_DIR),
            *(f"{key}={value}" for key, value in CONTEXTS[context].items()),
        ]
    )
    return output / "bake" / SLUGS[context]


# A stand-in for the official nginx image, for compose.yaml's gateway: Debian's
# nginx on the python stand-in's system, laid out where compose.yaml relies on
# the official image: conf.d/*.conf included in `http {}` (Debian's nginx.conf
# does that too; its default site goes), the logs on the container's output,
# and nginx in the foreground.
GATEWAY_CONTAINERFILE = """\
FROM {base}
RUN apt-get update \\
    && apt-get install --yes --no-install-recommends nginx-light \\
    && rm -rf /var/lib/apt/lists/* /etc/nginx/sites-enabled/* \\
    && ln -sf /dev/stdout /var/log/nginx/access.log \\
    && ln -sf /dev/stderr /var/log/nginx/error.log
STOPSIGNAL SIGQUIT
CMD ["nginx", "-g", "daemon off;"]
"""


def gateway_tag() -> str:
    return f"localhost/quart-template-nginx:{SESSION}"


def build_image(
    project: Path, tag: str, base: str, env: Mapping[str, str], steps: Steps
) -> None:
    """Build the project's Dockerfile as `tag` on the `base` image.

    --format docker keeps the HEALTHCHECK (OCI has none); --layers=false and
    --force-rm leave no intermediate images behind.
    """
    steps.run(
        [
            *NICE,
            *("podman", "build", "--format", "docker", "--pull=never"),
            *("--layers=false", "--force-rm"),
            *("--build-arg", f"PYTHON_IMAGE={base}", "--tag", tag, project),
        ],
        env=env,
    )


@dataclass
class ImageBuilds:
    """The default bake's image, made once per session in the background."""

    env: dict[str, str]
    context: str = "default"
    steps: Steps = field(default_factory=Steps)
    timings: dict[str, float] = field(default_factory=dict)
    made: list[str] = field(default_factory=list)
    workdir: Path = field(
        default_factory=lambda: Path(tempfile.mkdtemp(prefix="quart-template-images-"))
    )
    project: Path | None = None  # the bake the image is built from
    _executor: ThreadPoolExecutor | None = None
    _future: Future[str] | None = None
    _gateway: Future[str] | None = None
    _pod: Future[Pod] | None = None

    def start(self, with_pod: bool = False) -> None:
        """Start making the images, unless it is under way already: the
        service's first, then the gateway's (compose.yaml's nginx), then,
        `with_pod`, playing deploy/k8s on the service's (pods.py)."""
        if self._future is None:
            self._executor = ThreadPoolExecutor(1, thread_name_prefix="images")
            self._future = self._executor.submit(self._make)
            self._gateway = self._executor.submit(self._make_gateway)
        if with_pod and self._pod is None:
            assert self._executor is not None
            self._pod = self._executor.submit(self._play_pod)

    def image(self, timeout: float = 900) -> str:
        """The image's name, once made; raises Unavailable when it cannot be."""
        self.start()
        assert self._future is not None
        return self._future.result(timeout=timeout)

    def gateway_image(self, timeout: float = 900) -> str:
        """The gateway stand-in's name, once made (after the service's image)."""
        self.start()
        assert self._gateway is not None
        return self._gateway.result(timeout=timeout)

    def pod(self, timeout: float = 900) -> Pod:
        """The pod deploy/k8s makes, once played (after the images)."""
        self.start(with_pod=True)
        assert self._pod is not None
        return self._pod.result(timeout=timeout)

    def _play_pod(self) -> Pod:
        assert self._future is not None
        assert self.project is not None
        image = self._future.result()  # done by now: the one worker ran it first
        started = time.monotonic()
        directory = self.workdir / "pod"
        directory.mkdir()
        pod = play(self.project, image, self.env, directory)
        self._timed("kube play", started)
        return pod

    def _make_gateway(self) -> str:
        assert self._future is not None
        self._future.result()  # done by now: the one worker ran it first
        started = time.monotonic()
        directory = self.workdir / "gateway"
        directory.mkdir()
        base = stand_in_tag(python_of(self.context))
        (directory / "Containerfile").write_text(
            GATEWAY_CONTAINERFILE.format(base=base)
        )
        tag = gateway_tag()
        self.made.append(tag)
        self.steps.run(
            [
                *NICE,
                *("podman", "build", "--pull=never", "--layers=false"),
                *("--force-rm", "--tag", tag, directory),
            ],
            env=self.env,
        )
        self._timed("gateway stand-in", started)
        return tag

    def _timed(self, name: str, started: float) -> None:
        self.timings[name] = time.monotonic() - started

    def _make(self) -> str:
        started = time.monotonic()
        missing = podman_missing(self.env) or stand_in_missing()
        if missing:
            raise Unavailable(missing)
        minor = python_of(self.context)
        base = stand_in_tag(minor)
        self.made.append(base)
        make_stand_in(minor, base, self.workdir, self.env, self.steps)
        self._timed("stand-in", started)
        begun = time.monotonic()
        project = self.project = bake_context(self.context, self.workdir, self.steps)
        tag = image_tag(self.context)
        self.made.append(tag)
        build_image(project, tag, base, self.env, self.steps)
        self._timed("image build", begun)
        self._timed("total", started)
        return tag

    def close(self) -> None:
        """Stop whatever is under way, then remove the images and files made."""
        self.steps.cancel()
        if self._executor is not None:
            self._executor.shutdown(wait=True)
        if self._pod is not None and self._pod.exception() is None:
            tear_down(self._pod.result(), self.env)
        for tag in reversed(self.made):
            subprocess.run(
                ["podman", "rmi", "--force", tag],
                env=self.env,
                capture_output=True,
                check=False,
            )
        shutil.rmtree(self.workdir, ignore_errors=True)
