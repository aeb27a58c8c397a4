"""What each layer of the baked service costs per request, in one process.

No server, no sockets: each app variant is called through ASGI by a minimal
driver (a scope, a `receive` that gives the request and then waits as a
server's does until the client goes, a `send` that checks the answer), one
request per task as servers run them, and its CPU time per request is taken.
That isolates what the template adds from the server's own cost, which
`bench/run.py` measures served.

The variants, each adding one layer to the one before:

1. the bare Quart app (`bench/apps/bare_quart.py`);
2. the baked app with its ASGI middleware taken off (health routes, error
   handlers, lifecycle, settings);
3. that app with the request guard (`request_guard.py`) put back alone;
4. the baked `create_app()` as built, which adds the request-context
   middleware around the guard (`request_context.py`: request ID, status and
   timing, taken once for the access line and the metrics), with
   `configure_logging("WARNING", "json")`: the access line is dropped at the
   level check, as with `<SLUG>_LOG_LEVEL=WARNING`;
5. the same after `configure_logging("INFO", "json")`, stderr a file: the
   access line on, as shipped;
6. the same, the requests carrying X-Forwarded-For, -Proto, -Host and
   -Prefix, which the app does not trust (`TRUSTED_PROXY_HOPS: 0`);
7. the same built with `TRUSTED_PROXY_HOPS=1`, so that the headers are
   applied: as `deploy/` runs it;
8. in a bake with a database, the shipped app answering `GET /items/1`
   from SQLite (a file in a temporary directory, created from the models,
   one row): the data layer's session, query and commit, and the response
   model, beside variant 5's `GET /`;
9. given a bake with auth=jwt (`--jwt-bake`, another slug), its app
   answering `GET /` with a valid RS256 bearer token, verified by PyJWT
   against `JWT_PUBLIC_KEY`, beside variant 5's `GET /`.

Variants 1-4 run first, their passes interleaved, then 5-9 with logging at
INFO. Logging is configured before any app runs, as asgi.py does: a Quart app
whose logger finds no handler adds its own (a queue and a thread) on first
use, and every later line would go through both. The event loop is uvloop's,
as under the template's servers. Each figure is the least CPU time per
request (process time, so a logging thread would count too) over the passes.

Run with the benchmark's virtualenv and a bake of the template:

    bench/.venv/bin/python bench/layers.py --bake <bake>/my_service

`bench/run.py` runs it after the served measurements and puts its table in
the generated block of docs/performance.md.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from asgi_driver import Variant, http_scope, measure, run

APPS = Path(__file__).resolve().parent / "apps"


def forwarded_headers(slug: str) -> list[tuple[bytes, bytes]]:
    """What the deploy/nginx gateway adds (as bench/run.py's wrk sends them)."""
    return [
        (b"x-forwarded-for", b"203.0.113.7"),
        (b"x-forwarded-proto", b"https"),
        (b"x-forwarded-host", b"example.com"),
        (b"x-forwarded-prefix", f"/api/{slug}".encode()),
    ]


def without_service_environment(slug: str) -> None:
    """Settings come from the packaged defaults only, as bench/run.py serves."""
    os.environ.pop("QUART_SETTINGS", None)
    for name in list(os.environ):
        if name.startswith(f"{slug.upper()}_"):
            del os.environ[name]


@contextmanager
def stderr_to(path: Path) -> Iterator[None]:
    """Point file descriptor 2 (and so sys.stderr) at `path`, as a server's
    stderr is a file or the journal."""
    sys.stderr.flush()
    saved = os.dup(2)
    with path.open("ab") as target:
        os.dup2(target.fileno(), 2)
    try:
        yield
    except BaseException:
        restore(saved)
        tail = path.read_text(errors="replace").splitlines()[-30:]
        print("\n".join(["layers: stderr until then:", *tail]), file=sys.stderr)
        raise
    else:
        restore(saved)


def restore(saved: int) -> None:
    sys.stderr.flush()
    os.dup2(saved, 2)
    os.close(saved)


def access_lines(log: Path, slug: str) -> int:
    """The access lines in the log so far."""
    count = 0
    for line in log.read_text(errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        count += isinstance(record, dict) and record.get("logger") == f"{slug}.access"
    return count


def table(variants: list[Variant], count: int, passes: int, lines: int) -> str:
    rows = [
        "| layer | µs per request | added |",
        "|---|--:|--:|",
    ]
    previous: float | None = None
    for variant in variants:
        micros = variant.best * 1e6
        if variant.baseline is not None:
            previous = variant.baseline.best * 1e6
        added = "" if previous is None else f"{micros - previous:+.0f}"
        rows.append(f"| {variant.label} | {micros:.0f} | {added} |")
        previous = micros
    return (
        "\n".join(rows)
        + f"\n\nIn one process, no server: {count:,} requests a pass through a"
        f" minimal ASGI driver, the least CPU time per request of {passes}"
        f" passes; {lines:,} access lines written by the variants at INFO. The"
        " database read's and the bearer token's added costs are over the shipped"
        " `GET /`.\n"
    )


def sqlite_with_one_item(slug: str, directory: Path) -> str | None:
    """A SQLite database with the example table and one row, or None for a
    bake without a database (or without the example)."""
    try:
        models = importlib.import_module(f"{slug}.models")
    except ModuleNotFoundError:
        return None
    if not hasattr(models, "Item"):
        return None
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    path = directory / "layers.sqlite3"
    engine = create_engine(f"sqlite:///{path}")
    models.Base.metadata.create_all(engine)
    with Session(engine) as session:
        session.add(models.Item(name="layers", description="one row", quantity=1))
        session.commit()
    engine.dispose()
    return f"sqlite:///{path}"


def plumbing(slug: str, *names: str) -> Any:
    """A module of the service's plumbing, by the first of `names` found: in
    core/ (`observability.logs`), or in the package itself in bakes of
    templates from before core/ (`bench/run.py --template`)."""
    candidates = [f"{slug}.core.{name}" for name in names]
    candidates += [f"{slug}.{name}" for name in names]
    for candidate in candidates:
        try:
            return importlib.import_module(candidate)
        except ModuleNotFoundError as error:
            # Only the module (or a package above it) missing: the next one.
            if error.name is None or not f"{candidate}.".startswith(f"{error.name}."):
                raise
    raise ModuleNotFoundError(f"none of {', '.join(candidates)}")


def with_bearer_token(project: Path) -> tuple[Any, list[tuple[bytes, bytes]]]:
    """A bake with auth=jwt: its app, given a fresh RSA public key, and the
    Authorization header of a valid token signed with the private half."""
    import jwt
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    slug, issuer = project.name, "https://issuer.bench"
    without_service_environment(slug)
    create_app = importlib.import_module(f"{slug}.app").create_app
    app = create_app(
        JWT_PUBLIC_KEY=public.decode(), JWT_ISSUER=issuer, JWT_AUDIENCE=slug
    )
    claims = {"iss": issuer, "aud": slug, "sub": "bench", "exp": time.time() + 3600}
    token = jwt.encode(claims, key, algorithm="RS256")
    return app, [(b"authorization", f"Bearer {token}".encode())]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--bake",
        type=Path,
        required=True,
        help="a baked project (the directory holding its package)",
    )
    parser.add_argument(
        "--jwt-bake",
        type=Path,
        help="a bake with auth=jwt and another slug, for the token's cost",
    )
    parser.add_argument("--requests", type=int, default=3000, help="per pass")
    parser.add_argument("--passes", type=int, default=5)
    args = parser.parse_args(argv)
    project = args.bake.resolve()
    slug = project.name
    if not (project / slug / "app.py").exists():
        parser.error(f"{project} holds no package {slug}/ with app.py")
    without_service_environment(slug)
    sys.path[:0] = [str(project), str(APPS)]
    if args.jwt_bake is not None:
        sys.path.insert(0, str(args.jwt_bake.resolve()))

    bare = importlib.import_module("bare_quart").app
    create_app = importlib.import_module(f"{slug}.app").create_app
    configure_logging = plumbing(slug, "observability.logs", "logs").configure_logging

    with tempfile.TemporaryDirectory(prefix="bench-layers-") as temporary:
        log = Path(temporary) / "stderr.log"
        with stderr_to(log):
            # Configured first, as asgi.py does: an app whose logger finds no
            # handler gets Quart's own (a queue and a thread) on first use.
            configure_logging("WARNING", "json")
            stripped = create_app()
            del stripped.asgi_app  # the middleware set on it: Quart's own again
            guarded = create_app()
            del guarded.asgi_app
            guard = plumbing(slug, "http.request_guard", "guard").RequestGuardMiddleware
            guarded.asgi_app = guard(  # type: ignore[method-assign]
                guarded.asgi_app, allow_http2=False, has_websocket_routes=lambda: False
            )
            plain = http_scope()
            quiet = [
                Variant("bare Quart app", bare, plain),
                Variant(
                    "baked app without its ASGI middleware (routes, error handlers,"
                    " lifecycle, settings)",
                    stripped,
                    plain,
                ),
                Variant(
                    "+ the request guard (`request_guard.py`) alone", guarded, plain
                ),
                Variant(
                    "+ request context and metrics, one middleware"
                    " (`request_context.py`: request ID, status and timing),"
                    " access line off (`LOG_LEVEL` WARNING)",
                    create_app(),
                    plain,
                ),
            ]
            run(measure(quiet, args.requests, args.passes))
            if access_lines(log, slug):
                raise SystemExit("layers: access lines written at LOG_LEVEL WARNING")
            configure_logging("INFO", "json")
            loud = [
                Variant(
                    "+ the JSON access line (`LOG_LEVEL` INFO, stderr a file):"
                    " **as shipped**",
                    create_app(),
                    plain,
                ),
                Variant(
                    "+ X-Forwarded-For, -Proto, -Host and -Prefix sent, not"
                    " trusted (`TRUSTED_PROXY_HOPS` 0)",
                    create_app(),
                    http_scope(forwarded_headers(slug)),
                ),
                Variant(
                    "+ `TRUSTED_PROXY_HOPS=1`: the headers applied, **as deploy/"
                    " runs it**",
                    create_app(TRUSTED_PROXY_HOPS=1),
                    http_scope(forwarded_headers(slug)),
                ),
            ]
            database_url = sqlite_with_one_item(slug, Path(temporary))
            if database_url is not None:
                loud.append(
                    Variant(
                        "a database read instead: `GET /items/1` from SQLite"
                        " (session, query, commit, response model), as shipped",
                        create_app(DATABASE_URL=database_url),
                        http_scope(path="/items/1"),
                        baseline=loud[0],
                    )
                )
            if args.jwt_bake is not None:
                secured, authorization = with_bearer_token(args.jwt_bake.resolve())
                loud.append(
                    Variant(
                        "a bearer token verified instead (auth=jwt: RS256, PyJWT):"
                        " `GET /`, as shipped",
                        secured,
                        http_scope(authorization),
                        baseline=loud[0],
                    )
                )
            run(measure(loud, args.requests, args.passes))
            written = access_lines(log, slug)
    if not written:
        raise SystemExit("layers: no access line written at LOG_LEVEL INFO")
    print(table(quiet + loud, args.requests, args.passes, written), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
