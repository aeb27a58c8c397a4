"""The API contract under fuzzing: schemathesis, from the served
`/openapi.json`, sends generated and malformed requests to every operation of
the jwt bake under `make serve`, and every answer has a status the operation
documents, with a body that matches the schema documented for it. Three
callers: a token with every scope, a token with none, and no token at all.
"""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from contexts import AUTH_CONTEXTS, SLUGS, python_of
from helpers import Bake, check, free_port, run, serving
from token_dealer import ISSUER, SigningKey, jwt_settings

CONTEXT = AUTH_CONTEXTS["jwt"]
SCHEMATHESIS = Path(sys.executable).with_name("st")  # tests/requirements.txt
CHECKS = "status_code_conformance,response_schema_conformance"
SCOPES = {"every-scope": "items:read items:write", "no-scope": "", "no-token": None}


@pytest.fixture(scope="module")
def served_api(
    bake: Bake,
    installed: Callable[[str, str], Path],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[str, SigningKey, Path]]:
    """The jwt bake migrated and under `make serve` on a free port, with the
    key that signs its tokens and a folder of its own."""
    project = bake(CONTEXT)
    venv = installed(CONTEXT, python_of(CONTEXT))
    slug = SLUGS[CONTEXT]
    folder = tmp_path_factory.mktemp("contract")
    key = SigningKey()
    env = {
        **os.environ,
        f"{slug.upper()}_DATABASE_URL": f"sqlite:///{folder / 'contract.sqlite3'}",
        **{f"{slug.upper()}_{k}": v for k, v in jwt_settings(key, slug).items()},
    }
    check(["make", "migrate", f"VENV={venv}"], project, env)
    port = free_port()
    with serving(
        ["make", "serve", f"BIND=127.0.0.1:{port}", f"VENV={venv}"],
        cwd=project,
        env=env,
        log=folder / "serve.log",
        ready_url=f"http://127.0.0.1:{port}/healthz",
    ):
        yield f"http://127.0.0.1:{port}", key, folder


@pytest.mark.parametrize("scopes", SCOPES.values(), ids=SCOPES)
def test_every_answer_is_documented_for_its_operation(
    served_api: tuple[str, SigningKey, Path], scopes: str | None
) -> None:
    base, key, folder = served_api
    headers = []
    if scopes is not None:
        claims = {"iss": ISSUER, "aud": SLUGS[CONTEXT], "sub": "fuzzer"}
        token = key.sign({**claims, "exp": int(time.time()) + 600, "scope": scopes})
        headers = ["-H", f"Authorization: Bearer {token}"]

    result = run(
        [
            SCHEMATHESIS,
            "run",
            f"{base}/openapi.json",
            "--checks",
            CHECKS,
            "--max-examples",
            "15",
            "--seed",
            "20261207",
            *headers,
        ],
        cwd=folder,  # where schemathesis keeps its examples database
        timeout=240,
    )

    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    tested = re.search(r"(\d+) generated, (\d+) passed", result.stdout)
    assert tested, result.stdout[-3000:]
    assert tested.group(1) == tested.group(2), result.stdout[-3000:]
    assert re.search(r"Tested: +8\b", result.stdout), result.stdout[-3000:]
