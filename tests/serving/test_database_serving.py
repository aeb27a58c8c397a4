"""The bakes with a database, migrated and served for real on loopback.

A postgresql bake is migrated (`make migrate`) into a throwaway PostgreSQL
cluster (the bake's own tests/postgres.py) and served by `make serve`; over
real HTTP its /items resource creates, reads, pages, updates and deletes,
answering JSON 409, 400 and 404 errors. 64 clients creating items at once all
get a 201, and every one of those items is stored. With the database stopped
mid-run, /readyz and the items answer a JSON 503 (no traceback logged) while
/healthz stays 200; once the database is back, the same server process
serves again by itself. The password in DATABASE_URL appears in no log line.
A sqlite bake (the default) is migrated and served the same way, briefly.
The postgresql bake's own tests run against a database TEST_DATABASE_URL
names, as a developer's would.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urljoin

import pytest

from contexts import DATABASE_CONTEXTS, SLUGS, python_of
from database_service import (
    POSTGRES,
    Cluster,
    Installed,
    Service,
    all_items,
    assert_error,
    call,
    load_baked_cluster,
    migrated_and_served,
)
from helpers import Bake, Reply, access_lines, run

SQLITE = DATABASE_CONTEXTS["sqlite"]
# PostgreSQL's trust authentication ignores it: it is here to be kept secret.
PASSWORD = "S3cretPw"
CLIENTS = 64
POSTS_PER_CLIENT = 4
UNAVAILABLE = "the database is unavailable"


@pytest.fixture(scope="module")
def cluster(pristine: Bake) -> Iterator[Cluster]:
    """One PostgreSQL cluster for the module (a few seconds to make)."""
    with load_baked_cluster(pristine) as running:
        yield running


@pytest.fixture(scope="module")
def postgres_service(
    cluster: Cluster,
    bake: Bake,
    installed: Installed,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Service]:
    """The postgresql bake, migrated and served once for the module, its
    DATABASE_URL carrying a password."""
    url = cluster.url.replace("://postgres@", f"://postgres:{PASSWORD}@")
    assert PASSWORD in url
    log = tmp_path_factory.mktemp("database-serving") / "server.log"
    with migrated_and_served(POSTGRES, bake, installed, url, log) as service:
        yield service


def test_items_crud_over_http(postgres_service: Service) -> None:
    base = postgres_service.base
    assert call(base, "GET", "/readyz").json() == {
        "status": "ready",
        "checks": {"database": "ok"},
    }
    # Whatever other tests left stays out of the pages checked here.
    before = max((i["id"] for i in all_items(base)), default=0)
    widget = {"name": "crud-widget", "description": "a widget", "quantity": 3}

    created = call(base, "POST", "/items", widget)

    assert created.status == 201, created
    item = created.json()
    assert item == {"id": item["id"], "created_at": item["created_at"], **widget}
    # RFC 3339 with its offset, as /openapi.json declares, read back from
    # PostgreSQL (timestamptz) in UTC.
    stamp = datetime.fromisoformat(item["created_at"])
    assert item["created_at"].endswith("Z")
    assert abs(datetime.now(UTC) - stamp) < timedelta(minutes=5)
    location = urljoin(f"{base}/items", created.headers["location"])
    assert location == f"{base}/items/{item['id']}"
    assert call(location, "GET", "").json() == item

    # Pages: three more items, walked two at a time, come back in id order.
    for n in range(3):
        assert call(base, "POST", "/items", {"name": f"crud-page-{n}"}).status == 201
    first = call(base, "GET", f"/items?limit=2&after={before}").json()
    assert [i["name"] for i in first["items"]] == ["crud-widget", "crud-page-0"]
    assert first["next"] == first["items"][-1]["id"]
    names = [i["name"] for i in all_items(base, limit=2, after=before)]
    assert names == ["crud-widget", "crud-page-0", "crud-page-1", "crud-page-2"]

    updated = call(base, "PATCH", f"/items/{item['id']}", {"quantity": 7})
    assert updated.json() == {**item, "quantity": 7}
    assert call(location, "GET", "").json()["quantity"] == 7

    # A taken name, by creation or by renaming: 409, nothing changed.
    assert_error(call(base, "POST", "/items", widget), 409)
    other = first["items"][1]["id"]
    assert_error(call(base, "PATCH", f"/items/{other}", {"name": "crud-widget"}), 409)
    assert call(base, "GET", f"/items/{other}").json()["name"] == "crud-page-0"

    invalid = call(base, "POST", "/items", {"name": "", "quantity": -1})
    fields = {f["field"] for f in assert_error(invalid, 400)["fields"]}
    assert fields == {"name", "quantity"}

    deleted = call(location, "DELETE", "")
    assert (deleted.status, deleted.body) == (204, b"")
    assert_error(call(location, "GET", ""), 404)
    assert_error(call(location, "DELETE", ""), 404)


def test_concurrent_clients_all_get_their_rows(postgres_service: Service) -> None:
    """64 clients at once, more than the pool's 15 connections: each waits
    its turn for a connection rather than failing, and every 201 is a row."""
    base, server = postgres_service.base, postgres_service.server
    logged_before = len(server.output())
    start = threading.Barrier(CLIENTS, timeout=30)

    def client(number: int) -> list[Reply]:
        start.wait()  # every client's first POST goes out together
        return [
            call(base, "POST", "/items", {"name": f"load-{number}-{n}", "quantity": n})
            for n in range(POSTS_PER_CLIENT)
        ]

    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        replies = [reply for got in pool.map(client, range(CLIENTS)) for reply in got]

    statuses = Counter(reply.status for reply in replies)
    failed = [reply for reply in replies if reply.status != 201]
    assert statuses == {201: CLIENTS * POSTS_PER_CLIENT}, failed[:3]
    stored = [i for i in all_items(base) if i["name"].startswith("load-")]
    assert len(stored) == statuses[201]
    assert {i["id"] for i in stored} == {reply.json()["id"] for reply in replies}
    assert '"level": "ERROR"' not in server.output()[logged_before:]


def test_database_restart_between_requests_goes_unnoticed(
    postgres_service: Service, cluster: Cluster
) -> None:
    """Every connection in the pool dies with a restart nobody saw: the
    ping each one gets when taken (pool_pre_ping) replaces it unnoticed."""
    base = postgres_service.base

    def listed(_: int) -> int:
        return call(base, "GET", "/items?limit=1").status

    # Requests at once leave several connections in the pool.
    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(listed, range(8))) == [200] * 8
    cluster.stop()
    cluster.start()

    # One after the other, the requests take the dead pooled connections in
    # turn (without the ping, the first request is a 503).
    assert [listed(n) for n in range(8)] == [200] * 8
    created = call(base, "POST", "/items", {"name": "restart-after"})
    assert created.status == 201, created


def test_database_outage_is_a_json_503_until_it_is_back(
    postgres_service: Service, cluster: Cluster
) -> None:
    base, server = postgres_service.base, postgres_service.server
    # Pooled connections that die with the database: no use to anyone.
    assert call(base, "GET", "/readyz").status == 200
    logged_before = len(server.output())

    cluster.stop()
    try:
        unready = assert_error(call(base, "GET", "/readyz"), 503)
        assert set(unready["checks"]) == {"database"}, unready
        assert call(base, "GET", "/healthz").json() == {"status": "ok"}
        read = call(base, "GET", "/items/1")
        write = call(
            base,
            "POST",
            "/items",
            {"name": "outage-lost"},
            {"X-Request-ID": "outage-last"},
        )
        for reply in (read, write):
            assert assert_error(reply, 503)["message"] == UNAVAILABLE
            assert PASSWORD.encode() not in reply.body
        assert PASSWORD not in json.dumps(unready)
        # The access line is written after the response: all is logged by then.
        access_lines(server.output, postgres_service.slug, "outage-last")
    finally:
        cluster.start()
    during = server.output()[logged_before:]
    assert "database unavailable" in during
    assert "Traceback" not in during
    assert PASSWORD not in during

    deadline = time.monotonic() + 10
    while (ready := call(base, "GET", "/readyz")).status != 200:
        assert time.monotonic() < deadline, ready
        time.sleep(0.1)
    assert ready.json() == {"status": "ready", "checks": {"database": "ok"}}
    after = [
        call(base, "POST", "/items", {"name": f"outage-after-{n}"}) for n in range(3)
    ]
    after += [call(base, "GET", f"/items/{r.json()['id']}") for r in after]
    assert [reply.status for reply in after] == [201] * 3 + [200] * 3
    names = {i["name"] for i in all_items(base)}
    assert "outage-lost" not in names  # the 503'd POST saved nothing
    # The same server (uvicorn): still running, started once.
    assert server.process.poll() is None
    assert server.output().count("Application startup complete") == 1


def test_database_password_is_never_logged(postgres_service: Service) -> None:
    """Nothing the service or `make migrate` wrote, errors and the outage
    included, shows the password the service connects with."""
    base = postgres_service.base
    call(base, "POST", "/items", {"name": ""})  # a 400
    call(base, "GET", "/items/999999", headers={"X-Request-ID": "secret-last"})
    access_lines(postgres_service.server.output, postgres_service.slug, "secret-last")
    assert PASSWORD in postgres_service.url
    assert PASSWORD not in postgres_service.migrate_output
    assert PASSWORD not in postgres_service.server.output()


def test_sqlite_bake_migrates_and_serves_items(
    bake: Bake, installed: Installed, tmp_path: Path
) -> None:
    database = tmp_path / "db.sqlite3"
    url = f"sqlite+aiosqlite:///{database}"
    log = tmp_path / "server.log"

    with migrated_and_served(SQLITE, bake, installed, url, log) as service:
        base = service.base
        ready = call(base, "GET", "/readyz").json()
        assert ready == {"status": "ready", "checks": {"database": "ok"}}
        created = call(base, "POST", "/items", {"name": "lite", "quantity": 2})
        assert created.status == 201, created
        location = urljoin(f"{base}/items", created.headers["location"])
        assert call(location, "GET", "").json() == created.json()
        assert call(base, "GET", "/items").json() == {
            "items": [created.json()],
            "next": None,
        }
        assert_error(call(base, "POST", "/items", {"name": "lite"}), 409)
    assert database.stat().st_size > 0  # the URL's file, not a default one


# What the given database holds after the bake's tests: its migration.
VERSION_PROBE = """\
import asyncio, asyncpg, sys
async def main():
    connection = await asyncpg.connect(sys.argv[1])
    print(await connection.fetchval("SELECT version_num FROM alembic_version"))
    await connection.close()
asyncio.run(main())
"""


def test_the_bakes_tests_use_the_database_test_database_url_names(
    cluster: Cluster, bake: Bake, installed: Installed
) -> None:
    """The postgresql bake's own tests, given TEST_DATABASE_URL, migrate and
    use that database instead of starting a server of their own."""
    port = str(cluster.port)
    cluster.run("createdb", "-h", "127.0.0.1", "-p", port, "-U", "postgres", "given")
    url = f"postgresql://postgres@127.0.0.1:{port}/given"
    project = bake(POSTGRES)
    python = installed(POSTGRES, python_of(POSTGRES)) / "bin" / "python"
    tests = ["tests/test_items.py", "tests/plumbing/test_migrations.py"]
    env = {**os.environ, "TEST_DATABASE_URL": url}

    result = run(
        [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", *tests],
        project,
        env,
        timeout=120,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" in result.stdout
    version = run([python, "-c", VERSION_PROBE, url], project, timeout=30)
    versions = project / SLUGS[POSTGRES] / "migrations" / "versions"
    newest = max(path.name[4:8] for path in versions.glob("rev_*.py"))
    assert version.stdout.strip() == newest, version.stdout + version.stderr
