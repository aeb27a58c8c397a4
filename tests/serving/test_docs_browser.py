"""The /docs page works offline: a real headless Chromium (from apt, driven by
Playwright) opens it on a bake served by `make serve`, with no network route
but loopback, and Swagger UI renders exactly the operations of /openapi.json:
each path and method once per tag, nothing more, nothing missing.

Every request the page makes is recorded: none leaves loopback (so the script
and style come from the installed swagger-ui-bundle, not a CDN), none fails
and no script throws. Checked on the default bake (hypercorn, sqlite) and on a
granian bake without a database, which has fewer operations.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, Request, Response, Route, sync_playwright

from contexts import SERVER_CONTEXTS, answer, python_of
from helpers import Bake, free_port, http, serving, venv_env

Installed = Callable[[str, str], Path]

# Chromium from apt: Playwright must never download a browser of its own.
CHROMIUM = Path("/usr/bin/chromium")
LOOPBACK = frozenset({"127.0.0.1", "localhost"})
# The methods an OpenAPI path item may hold operations for (others are fields).
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
ASSETS = ("docs/assets/swagger-ui-bundle.js", "docs/assets/swagger-ui.css")
# The default bake, and one with another server and no database.
CONTEXTS = ["default", SERVER_CONTEXTS["granian"]]
# Milliseconds: a cold Chromium and the 1.5 MB bundle on a loaded machine.
RENDER_TIMEOUT = 30_000


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One Chromium for the module. The page's requests are filtered by a
    route (see Visit); these flags also cut the browser's own network: every
    host name but localhost resolves to nothing, and every URL but loopback
    goes through a proxy on a port nothing listens on, so not even an IP
    literal, nor a request a route cannot see, gets out. (MAP * also catches
    127.0.0.1 unless excluded: Chromium then fails it as a name not resolved.)"""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install the apt package chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--host-resolver-rules=MAP * ~NOTFOUND,"
                " EXCLUDE localhost, EXCLUDE 127.0.0.1",
                f"--proxy-server=http://127.0.0.1:{free_port()}",
            ],
        )
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class Served:
    context: str
    base: str


@pytest.fixture(scope="module", params=CONTEXTS)
def served(
    request: pytest.FixtureRequest,
    bake: Bake,
    installed: Installed,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Served]:
    """The bake served as a user serves it, on loopback. The sqlite bake needs
    no migration: /docs and /openapi.json never touch the database."""
    context: str = request.param
    project = bake(context)
    venv = installed(context, python_of(context))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = venv_env(venv)
    log = tmp_path_factory.mktemp(f"docs-{context}") / "server.log"
    args = ["make", "serve", f"BIND=127.0.0.1:{port}", f"VENV={venv}"]
    with serving(args, cwd=project, env=env, log=log, ready_url=f"{base}/healthz"):
        yield Served(context, base)


@dataclass
class Visit:
    """What one page load did: every request, and whatever went wrong."""

    requested: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)

    def route(self, route: Route) -> None:
        """Let loopback through; abort and record anything else."""
        url = route.request.url
        if urlsplit(url).hostname in LOOPBACK:
            self.requested.append(url)
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort("internetdisconnected")

    def request_failed(self, request: Request) -> None:
        self.failed.append(f"{request.url}: {request.failure}")

    def response(self, response: Response) -> None:
        if response.status >= 400:
            self.failed.append(f"{response.url}: HTTP {response.status}")


def visit(page: Page, url: str) -> Visit:
    """Open `url`, recording, and wait until Swagger UI has rendered."""
    seen = Visit()
    page.context.route("**/*", seen.route)
    page.on("requestfailed", seen.request_failed)
    page.on("response", seen.response)
    page.on("pageerror", lambda error: seen.errors.append(str(error)))
    page.on(
        "console",
        lambda message: (
            seen.console.append(message.text) if message.type == "error" else None
        ),
    )
    page.goto(url, wait_until="load", timeout=RENDER_TIMEOUT)
    # The operations appear once the bundle has fetched and parsed the document.
    page.wait_for_selector(".opblock", timeout=RENDER_TIMEOUT)
    # Nothing still loading that could yet fail or leave loopback.
    page.wait_for_load_state("networkidle", timeout=RENDER_TIMEOUT)
    return seen


def documented(document: dict[str, Any]) -> Counter[tuple[str, str]]:
    """(METHOD, path) for every operation in the document, as often as Swagger
    UI shows it: once under each of its tags, or once under "default"."""
    operations: Counter[tuple[str, str]] = Counter()
    for path, item in document["paths"].items():
        for method in METHODS:
            if method in item:
                tags = item[method].get("tags") or ["default"]
                operations[(method.upper(), path)] += len(tags)
    return operations


# One round trip: each rendered operation's method, its path as shown (Swagger
# UI breaks it with zero-width spaces) and the path it stands for.
RENDERED = """
blocks => blocks.map(block => {
  const path = block.querySelector(
    ".opblock-summary-path, .opblock-summary-path__deprecated");
  return [
    block.querySelector(".opblock-summary-method").textContent,
    path.textContent.replaceAll("\\u200b", ""),
    path.dataset.path,
  ];
})
"""


def test_docs_render_every_operation_offline(browser: Browser, served: Served) -> None:
    """/docs in Chromium shows each operation of /openapi.json, from loopback
    alone, without an error."""
    base_url = served.base
    document = http(f"{base_url}/openapi.json").json()
    expected = documented(document)
    assert expected, "the document has no operations to render"

    context = browser.new_context()
    try:
        page = context.new_page()
        seen = visit(page, f"{base_url}/docs")
        rendered = page.eval_on_selector_all(".opblock", RENDERED)
        title = page.text_content(".information-container .title")
    finally:
        context.close()

    assert seen.blocked == [], "the page reached beyond loopback"
    assert seen.failed == []
    assert seen.errors == []
    assert seen.console == []
    # The script, the style and the document came from the service itself.
    for needed in (*ASSETS, "openapi.json"):
        assert f"{base_url}/{needed}" in seen.requested, seen.requested
    # The shown path is the path, and exactly the document's operations show.
    assert [shown for _, shown, path in rendered if shown != path] == []
    assert Counter((method, path) for method, _, path in rendered) == expected
    # The page shows the document's title: the bake's project name.
    assert document["info"]["title"] == answer(served.context, "project_name")
    assert title is not None
    assert title.startswith(document["info"]["title"]), title
