"""`make run`, the development server, for real on loopback.

With auth=jwt and no key of the user's, the first `make run` makes a
development key pair and settings in the git-ignored instance/ and serves;
`make -s token` prints a token it accepts; `make serve`, the image, Compose
and deploy/ never use that key, and `make serve` without keys refuses in one
line. In every bake, a bad setting stops `make run` with one line, never a
traceback.
"""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import jwt
import pytest

from contexts import AUTH_CONTEXTS, SLUGS, python_of
from helpers import Bake, check, free_port, http, run, serving, venv_env

Installed = Callable[[str, str], Path]

JWT = AUTH_CONTEXTS["jwt"]
JWT_SLUG = SLUGS[JWT]
DEV_FILES = ("dev_jwt_private.pem", "dev_jwt_public.pem", "development.yml")


@pytest.fixture(scope="module")
def jwt_bake(bake: Bake, installed: Installed) -> Iterator[tuple[Path, Path]]:
    """The jwt bake and its virtualenv, with no instance/ before or after."""
    project = bake(JWT)
    venv = installed(JWT, python_of(JWT))
    shutil.rmtree(project / "instance", ignore_errors=True)
    yield project, venv
    shutil.rmtree(project / "instance", ignore_errors=True)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def token(project: Path, venv: Path, env: dict[str, str], scopes: str) -> str:
    """What `make -s token SCOPES=...` prints, checked to be one line."""
    printed = check(
        ["make", "-s", "token", f"SCOPES={scopes}", f"VENV={venv}"], project, env
    )
    assert printed.count("\n") == 1, printed
    return printed.strip()


def test_make_run_serves_a_jwt_bake_with_no_keys_made_by_hand(
    jwt_bake: tuple[Path, Path], tmp_path: Path
) -> None:
    """And make serve, instance/ made, still refuses in one line without keys."""
    project, venv = jwt_bake
    database = f"sqlite+aiosqlite:///{tmp_path / 'dev.sqlite3'}"
    env = venv_env(venv, **{f"{JWT_SLUG.upper()}_DATABASE_URL": database})
    check(["make", "migrate", f"VENV={venv}"], project, env)
    port = free_port()
    base = f"http://127.0.0.1:{port}"

    with serving(
        ["make", "run", f"PORT={port}", f"VENV={venv}"],
        cwd=project,
        env=env,
        log=tmp_path / "run.log",
        ready_url=f"{base}/healthz",
    ) as server:
        reader = token(project, venv, env, "items:read")
        read = http(f"{base}/items", headers=bearer(reader))
        anonymous = http(f"{base}/items")
        write = http(f"{base}/items", "POST", headers=bearer(reader), json_body={})
        log = server.output()
    serve = run(
        ["make", "serve", f"BIND=127.0.0.1:{free_port()}", f"VENV={venv}"],
        project,
        env,
        timeout=60,
    )

    assert read.status == 200, read
    assert read.json() == {"items": [], "next": None}
    assert anonymous.status == 401
    assert write.status == 403  # items:read only
    claims = jwt.decode(reader, options={"verify_signature": False})
    assert (claims["iss"], claims["sub"]) == (f"{JWT_SLUG}-development", "developer")
    instance = project / "instance"
    assert sorted(os.listdir(instance)) == sorted(DEV_FILES)
    assert stat.S_IMODE((instance / DEV_FILES[0]).stat().st_mode) == 0o600
    assert "made instance/dev_jwt_private.pem" in log
    assert "Traceback" not in log
    assert serve.returncode == 2, serve.stdout + serve.stderr
    assert serve.stderr.splitlines()[0].startswith(
        "error: bearer tokens (auth=jwt) need JWT_ISSUER, JWT_AUDIENCE,"
        " JWT_PUBLIC_KEY or JWT_JWKS_URL"
    ), serve.stderr
    assert "Traceback" not in serve.stderr


def test_no_served_form_names_the_development_files(
    pristine: Bake, tmp_path: Path
) -> None:
    """make serve, the image, Compose and deploy/ name none of instance/,
    which git ignores and the image's build context leaves out."""
    project = pristine(JWT)
    served = [project / "Dockerfile", project / "compose.yaml"]
    served += [path for path in (project / "deploy").rglob("*") if path.is_file()]
    serve = check(["make", "-n", "serve", "VENV=/venv"], project)
    for text in [serve, *(path.read_text(encoding="utf-8") for path in served)]:
        for name in ("instance/", "dev_tokens", "dev_jwt", "development.yml"):
            assert name not in text
    ignored = (project / ".dockerignore").read_text(encoding="utf-8").splitlines()
    rules = [line for line in ignored if line and not line.startswith("#")]
    assert rules[0] == "*"  # everything out, then only what the image copies
    assert not [rule for rule in rules if "instance" in rule]
    shutil.copy(project / ".gitignore", tmp_path / ".gitignore")
    check(["git", "init", "--quiet"], tmp_path)
    check(["git", "check-ignore", "--quiet", "instance/dev_jwt_private.pem"], tmp_path)


# (context, how the setting is bad): a bake without and one with auth=jwt,
# whose make run reads the user's QUART_SETTINGS, not instance/'s.
BAD_SETTINGS = [("default", "variable"), (JWT, "file")]


@pytest.mark.parametrize(("context", "kind"), BAD_SETTINGS)
def test_a_bad_setting_stops_make_run_with_one_line(
    context: str,
    kind: str,
    bake: Bake,
    installed: Installed,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    if context == JWT:  # make run makes instance/: removed after the module
        request.getfixturevalue("jwt_bake")
    project, venv = bake(context), installed(context, python_of(context))
    if kind == "variable":
        variable = f"{SLUGS[context].upper()}_LOG_LEVEL"
        env = venv_env(venv, **{variable: "NOPE"})
        expected = (
            f"error: setting LOG_LEVEL = 'NOPE' (environment: {variable}): input"
            " should be 'DEBUG', 'INFO', 'WARNING', 'ERROR' or 'CRITICAL'"
        )
    else:  # the user's QUART_SETTINGS wins over instance/development.yml
        settings = tmp_path / "broken.yml"
        settings.write_text("MAX_CONTENT_LENGTH: [1, 2\n")
        env = venv_env(venv, QUART_SETTINGS=str(settings))
        expected = f"error: settings file {settings} is not valid YAML"

    result = run(
        ["make", "run", f"PORT={free_port()}", f"VENV={venv}"], project, env, 60
    )

    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.splitlines()
    errors = [line for line in lines if not line.startswith("made instance/")]
    assert errors[0].startswith(expected), result.stderr
    assert "Traceback" not in result.stderr
    assert "quart run" not in result.stdout  # stopped before the server
