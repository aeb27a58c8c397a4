"""`make demo`, the README's first command: it bakes the defaults, installs
them the way a user would and serves the service at the URL it prints."""

from __future__ import annotations

import re
from pathlib import Path

from helpers import TEMPLATE_DIR, free_port, http, serving

URL_LINE = r"Serving the demo service at (http://\S+/)"


def test_make_demo_serves_an_empty_object_at_the_printed_url(
    tmp_path: Path, cookiecutter_env: dict[str, str]
) -> None:
    bind = f"127.0.0.1:{free_port()}"
    args = ["make", "demo", f"DEMO_DIR={tmp_path / 'demo'}", f"DEMO_BIND={bind}"]

    with serving(
        args,
        cwd=TEMPLATE_DIR,
        env=cookiecutter_env,
        log=tmp_path / "demo.log",
        ready_pattern=URL_LINE + r"[\s\S]*Running on",
        timeout=300,
    ) as server:
        match = re.search(URL_LINE, server.output())
        assert match is not None
        url = match.group(1)
        assert url == f"http://{bind}/"
        reply = http(url)

    assert reply.status == 200
    assert reply.json() == {}
