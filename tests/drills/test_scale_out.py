"""Scale-out drill: two Inkwell hosts behind real PgBouncer and Redis Sentinel lose nothing.

Two gunicorn servers ("hosts" a and b) share the machine's PostgreSQL through PgBouncer in
transaction pooling mode (``DATABASE_PGBOUNCER=true``) and rate-limit counters in a Redis
primary with one replica watched by three Sentinels. A bounded load generator alternates
between the hosts: authors write posts, comments, edits and deletes, anonymous readers read
lists (and are rate limited). Meanwhile the Redis primary is killed (Sentinel promotes the
replica) and PgBouncer is restarted. Afterwards every acknowledged write is in the database
with its audit event, the audit chain verifies, the feed totals equal COUNT(*), the shared
limit held, no 5xx was answered but 503s while PgBouncer was down, and each host's
``/metrics`` counted what the generator saw. The figures are printed (``pytest -s``).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import TEST_SECRET_KEY, port_open, service_missing
from tests.drills.scale_out_services import PgBouncer, SentinelRedis
from tests.servers import PROJECT_DIR, Gunicorn, inkwell_environment, wait_until

pytestmark = pytest.mark.slow

DATABASE = "inkwell_drill"
ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
HOSTS = ("a", "b")
WORKERS_PER_HOST = 2
WRITERS = 6
READERS = 2
# Writers pace themselves under the per-client budget; readers, one client (the loopback
# address), ask about twice the budget, so about half of their requests are limited.
RATE_LIMIT_REQUESTS = 100
RATE_LIMIT_PERIOD = 10
WRITER_INTERVAL = 0.12
READER_INTERVAL = 0.1
HEALTH_INTERVAL = 0.25
# Phases of the drill (seconds); each wait is bounded.
WARM_UP = 4.0
FAILOVER_TIMEOUT = 30.0
SETTLE = 2.0
PGBOUNCER_DOWN = 2.0
COOL_DOWN = 4.0
MAX_REQUESTS_PER_THREAD = 2_000
REQUEST_TIMEOUT = 30.0
WRITE_KINDS = ("post", "comment", "edit", "delete")


@dataclass
class Exchange:
    """One request of the load generator and what came back (status 0: no answer at all)."""

    host: str
    client: str
    kind: str
    method: str
    request_id: str
    started: float
    ended: float
    status: int
    body: dict | None = None
    post_id: int | None = None
    sent: dict | None = None


@dataclass
class HealthSample:
    """One ``GET /health`` answer of one host."""

    host: str
    at: float
    code: int
    status: str | None
    storage: str | None
    pgbouncer: bool | None


@dataclass
class Drill:
    """The clock marks of the drill's events (time.monotonic)."""

    started: float = 0.0
    redis_killed: float = 0.0
    sentinel_promoted: float = 0.0
    pgbouncer_down: float = 0.0
    pgbouncer_up: float = 0.0
    ended: float = 0.0
    pool_samples: list[dict[str, int]] = field(default_factory=list)


@dataclass
class Cluster:
    """The shared services and the two hosts."""

    pgbouncer: PgBouncer
    redis: SentinelRedis
    hosts: dict[str, Gunicorn]
    tokens: dict[str, str]
    workdir: Path


def call(
    base_url: str, method: str, path: str, payload: dict | None, headers: dict[str, str]
) -> tuple[int, dict | None]:
    """One JSON exchange; error statuses are answers, a broken connection is status 0."""
    data = json.dumps(payload).encode() if payload is not None else None
    request = urllib.request.Request(f"{base_url}{path}", data=data, method=method, headers=headers)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    except OSError:
        return 0, None
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, None  # an HTML page


@pytest.fixture(scope="module")
def drill_database() -> Iterator[str]:
    """The database ``inkwell_drill`` on the machine's PostgreSQL, created empty, dropped after."""
    if not port_open("127.0.0.1", 5432):
        service_missing("PostgreSQL on 127.0.0.1:5432")

    def recreate(create: bool) -> None:
        with psycopg.connect(ADMIN_URL, autocommit=True) as connection:
            connection.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
            if create:
                connection.execute(f"CREATE DATABASE {DATABASE}")

    recreate(create=True)
    try:
        yield DATABASE
    finally:
        recreate(create=False)


def prepare_schema(pgbouncer: PgBouncer, workdir: Path) -> dict[str, str]:
    """Migrate through PgBouncer and create the writers; their bearer tokens by username."""
    from flask_migrate import upgrade

    from app import create_app
    from app.auth import create_access_token
    from app.extensions import db
    from app.services import user_service
    from config import Settings

    app = create_app(
        Settings(
            _env_file=None,
            secret_key=TEST_SECRET_KEY,
            database_url=pgbouncer.url(),
            database_pgbouncer=True,
            log_file="",
            audit_anchor_file=str(workdir / "anchors.log"),
        )
    )
    tokens = {}
    with app.app_context():
        upgrade()
        for number in range(WRITERS):
            name = f"writer{number}"
            user = user_service.create_user(name, f"{name}@example.com", "not-a-login")
            tokens[name] = create_access_token(user.id)[0]
        db.session.remove()
        db.engine.dispose()
    return tokens


@pytest.fixture(scope="module")
def cluster(drill_database, tmp_path_factory) -> Iterator[Cluster]:
    """PgBouncer, Redis with Sentinels and two Inkwell hosts, all stopped afterwards."""
    tmp_path = tmp_path_factory.mktemp("scale-out")
    with (
        PgBouncer(tmp_path / "pgbouncer", drill_database) as pgbouncer,
        SentinelRedis(tmp_path / "redis") as redis_nodes,
    ):
        tokens = prepare_schema(pgbouncer, tmp_path)
        settings = {
            "database_url": pgbouncer.url(),
            "database_pgbouncer": "true",
            "rate_limit_storage_url": redis_nodes.storage_url,
            "rate_limit_requests": RATE_LIMIT_REQUESTS,
            "rate_limit_period": RATE_LIMIT_PERIOD,
        }
        hosts: dict[str, Gunicorn] = {}
        try:
            for name in HOSTS:
                workdir = tmp_path / f"host-{name}"
                host = Gunicorn(
                    workdir=workdir,
                    workers=WORKERS_PER_HOST,
                    name=f"host-{name}",
                    settings={**settings, "audit_anchor_file": workdir / "anchors.log"},
                )
                hosts[name] = host
                host.start()
            yield Cluster(pgbouncer, redis_nodes, hosts, tokens, tmp_path)
        finally:
            for host in hosts.values():
                host.stop()


class LoadGenerator:
    """Writers, readers and a health monitor, each alternating between the hosts."""

    def __init__(self, cluster: Cluster, drill: Drill) -> None:
        """Prepare the threads (nothing is sent yet)."""
        self.cluster = cluster
        self.drill = drill
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.exchanges: list[Exchange] = []
        self.health: list[HealthSample] = []
        self.published: list[int] = []  # post ids comments may go to
        self.threads = [
            threading.Thread(target=self.write, args=(name,), name=name) for name in cluster.tokens
        ]
        self.threads += [
            threading.Thread(target=self.read, args=(number,), name=f"reader{number}")
            for number in range(READERS)
        ]
        self.threads.append(threading.Thread(target=self.monitor, name="health"))

    def __enter__(self) -> LoadGenerator:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=REQUEST_TIMEOUT + 10)

    def send(
        self,
        number: int,
        client: str,
        kind: str,
        method: str,
        path: str,
        payload: dict | None = None,
        token: str | None = None,
        post_id: int | None = None,
    ) -> Exchange:
        """Send one request to host a or b (by ``number``'s parity) and record it."""
        host = HOSTS[number % len(HOSTS)]
        request_id = f"drill-{host}-{client}-{number}"
        headers = {"X-Request-ID": request_id, "Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        started = time.monotonic()
        status, body = call(self.cluster.hosts[host].url, method, path, payload, headers)
        ended = time.monotonic()
        exchange = Exchange(host, client, kind, method, request_id, started, ended, status)
        exchange.body, exchange.post_id, exchange.sent = body, post_id, payload
        with self.lock:
            self.exchanges.append(exchange)
        return exchange

    def write(self, name: str) -> None:
        """An author: posts, comments on anyone's posts, edits and deletes its own."""
        token = self.cluster.tokens[name]
        rng = random.Random(name)
        own: list[int] = []
        for number in range(MAX_REQUESTS_PER_THREAD):
            if self.stop.is_set():
                return
            began = time.monotonic()
            choice = rng.random()
            if not own or choice < 0.35:
                status = "draft" if rng.random() < 0.2 else "published"
                payload = {
                    "title": f"{name} post {number}",
                    "body": "Drill *body*.",
                    "status": status,
                }
                answer = self.send(number, name, "post", "POST", "/api/v1/posts", payload, token)
                if answer.status == 201 and answer.body:
                    post_id = answer.body["data"]["id"]
                    own.append(post_id)
                    if status == "published":
                        with self.lock:
                            self.published.append(post_id)
            elif choice < 0.6:
                with self.lock:
                    target = rng.choice(self.published) if self.published else own[0]
                path = f"/api/v1/posts/{target}/comments"
                payload = {"body": f"{name} comment {number}"}
                self.send(number, name, "comment", "POST", path, payload, token, target)
            elif choice < 0.9:
                target = rng.choice(own)
                payload = {"title": f"{name} edit {number}"}
                if rng.random() < 0.25:
                    payload["status"] = rng.choice(("draft", "published"))
                path = f"/api/v1/posts/{target}"
                self.send(number, name, "edit", "PATCH", path, payload, token, target)
            else:
                target = own.pop(rng.randrange(len(own)))
                path = f"/api/v1/posts/{target}"
                self.send(number, name, "delete", "DELETE", path, None, token, target)
            self.stop.wait(max(0.0, WRITER_INTERVAL - (time.monotonic() - began)))

    def read(self, reader: int) -> None:
        """An anonymous reader of the API lists and the pages."""
        rng = random.Random(f"reader{reader}")
        paths = ["/api/v1/posts", "/api/v1/posts?skip=20", "/", "/?page=2"]
        paths += [f"/api/v1/posts?author=writer{number}" for number in range(WRITERS)]
        for number in range(MAX_REQUESTS_PER_THREAD):
            if self.stop.is_set():
                return
            began = time.monotonic()
            self.send(number, f"reader{reader}", "list", "GET", rng.choice(paths))
            self.stop.wait(max(0.0, READER_INTERVAL - (time.monotonic() - began)))

    def monitor(self) -> None:
        """Poll ``/health`` of both hosts and PgBouncer's pool counts."""
        for number in range(MAX_REQUESTS_PER_THREAD):
            if self.stop.is_set():
                return
            for offset in range(len(HOSTS)):
                answer = self.send(
                    number * len(HOSTS) + offset, "monitor", "health", "GET", "/health"
                )
                data = (answer.body or {}).get("data") or {}
                checks = data.get("checks") or {}
                with self.lock:
                    self.health.append(
                        HealthSample(
                            answer.host,
                            answer.ended,
                            answer.status,
                            data.get("status"),
                            (checks.get("rate_limit_storage") or {}).get("status"),
                            (checks.get("database") or {}).get("pgbouncer"),
                        )
                    )
            with contextlib.suppress(psycopg.Error):  # PgBouncer is being restarted
                self.drill.pool_samples.append(self.cluster.pgbouncer.pools())
            self.stop.wait(HEALTH_INTERVAL)

    def storage_back_everywhere(self) -> bool:
        """Whether every host has reported its rate-limit storage ok since the kill."""
        with self.lock:
            samples = [s for s in self.health if s.at > self.drill.redis_killed]
        return all(
            any(s.host == host and s.storage == "ok" and s.code == 200 for s in samples)
            and any(s.host == host and s.storage == "error" for s in samples)
            for host in HOSTS
        )


def run_drill(cluster: Cluster) -> tuple[LoadGenerator, Drill]:
    """Load both hosts; kill the Redis primary, then restart PgBouncer, under that load."""
    drill = Drill(started=time.monotonic())
    with LoadGenerator(cluster, drill) as load:
        time.sleep(WARM_UP)
        old_primary = cluster.redis.primary_address()
        cluster.redis.primary.kill()
        drill.redis_killed = time.monotonic()
        wait_until(
            lambda: cluster.redis.primary_address() != old_primary,
            FAILOVER_TIMEOUT,
            "Sentinel to promote the replica",
        )
        drill.sentinel_promoted = time.monotonic()
        wait_until(load.storage_back_everywhere, FAILOVER_TIMEOUT, "both hosts to count in Redis")
        time.sleep(SETTLE)
        drill.pgbouncer_down = time.monotonic()
        cluster.pgbouncer.stop()
        time.sleep(PGBOUNCER_DOWN)
        cluster.pgbouncer.start()
        drill.pgbouncer_up = time.monotonic()
        time.sleep(COOL_DOWN)
    drill.ended = time.monotonic()
    return load, drill


def database_rows(query: str) -> list[tuple]:
    """Rows of ``query`` on the drill database, read directly (not through PgBouncer)."""
    with psycopg.connect(f"postgresql://postgres@127.0.0.1:5432/{DATABASE}") as connection:
        return connection.execute(query).fetchall()


def http_request_counts(base_url: str) -> Counter[tuple[str, int]]:
    """``inkwell_http_requests_total`` of one host by (method, status), /health/live left out.

    The readiness probe of tests.servers.Gunicorn polls /health/live before the load starts;
    the generator never asks for it.
    """
    request = urllib.request.Request(f"{base_url}/metrics")
    with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT) as response:
        text = response.read().decode()
    counts: Counter[tuple[str, int]] = Counter()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name != "inkwell_http_requests_total":
                continue
            if sample.labels["route"] == "/health/live":
                continue
            counts[(sample.labels["method"], int(sample.labels["status"]))] += int(sample.value)
    return counts


def run_flask(cluster: Cluster, *arguments: str) -> subprocess.CompletedProcess:
    """``flask --app wsgi <arguments>`` through PgBouncer, as an operator on a host would."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if key.upper() not in ("DATABASE_URL", "SECRET_KEY", "LOG_FILE", "AUDIT_ANCHOR_FILE")
    }
    environment.update(
        inkwell_environment(
            cluster.workdir,
            database_url=cluster.pgbouncer.url(),
            database_pgbouncer="true",
            log_file="",
            audit_anchor_file=cluster.workdir / "anchors.log",
        )
    )
    environment["PYTHONPATH"] = str(PROJECT_DIR)
    return subprocess.run(
        [str(Path(sys.executable).with_name("flask")), "--app", "wsgi", *arguments],
        cwd=cluster.workdir,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@dataclass
class Outcome:
    """Everything the drill saw, read once right after the load (tests only assert on it)."""

    drill: Drill
    exchanges: list[Exchange]
    health: list[HealthSample]
    metrics: dict[str, Counter[tuple[str, int]]]
    events: dict[str | None, list[tuple[str, int, str]]]
    posts: dict[int, tuple]
    comments: set[int]
    feed_counts: dict[int, int]
    authors: dict[str, int]
    api_totals: dict[str, dict[str, int]]
    final_health: dict[str, tuple[int, dict]]
    anchored: subprocess.CompletedProcess
    verified: subprocess.CompletedProcess

    @property
    def writes(self) -> list[Exchange]:
        """The generator's writes, answered or not."""
        return [e for e in self.exchanges if e.kind in WRITE_KINDS]

    @property
    def acknowledged(self) -> list[Exchange]:
        """The writes answered 2xx."""
        return [e for e in self.writes if 200 <= e.status < 300]

    @property
    def live_posts(self) -> Counter[int]:
        """Live published posts per author id, counted from the posts table."""
        return Counter(
            author_id
            for _title, status, deleted_at, author_id in self.posts.values()
            if status == "published" and deleted_at is None
        )


def read_after_the_limit(url: str, path: str) -> dict | None:
    """GET ``path``; the checks read from the address the drill's readers used up, so a
    429 waits for the next window (at most two) instead of reading as a wrong total."""
    deadline = time.monotonic() + 2 * RATE_LIMIT_PERIOD + 1
    status, body = call(url, "GET", path, None, {})
    while status == 429 and time.monotonic() < deadline:
        time.sleep(1)
        status, body = call(url, "GET", path, None, {})
    return body


@pytest.fixture(scope="module")
def outcome(cluster) -> Outcome:
    """Run the drill once; read metrics first (every later read is a request of its own)."""
    load, drill = run_drill(cluster)
    metrics = {name: http_request_counts(host.url) for name, host in cluster.hosts.items()}
    api_totals: dict[str, dict[str, int]] = {}
    final_health = {}
    for name, host in cluster.hosts.items():
        totals = {}
        for author in ("", *cluster.tokens):
            query = f"&author={author}" if author else ""
            body = read_after_the_limit(host.url, f"/api/v1/posts?limit=1{query}")
            totals[author] = body["pagination"]["total"] if body and "pagination" in body else -1
        api_totals[name] = totals
        final_health[name] = call(host.url, "GET", "/health", None, {})
    result = Outcome(
        drill=drill,
        exchanges=load.exchanges,
        health=load.health,
        metrics=metrics,
        events=events_by_request(),
        posts={
            row[0]: row[1:]
            for row in database_rows("SELECT id, title, status, deleted_at, author_id FROM posts")
        },
        comments={row[0] for row in database_rows("SELECT id FROM comments")},
        feed_counts=dict(
            database_rows("SELECT author_id, published FROM feed_counts WHERE published <> 0")
        ),
        authors=dict(database_rows("SELECT username, id FROM users")),
        api_totals=api_totals,
        final_health=final_health,
        anchored=run_flask(cluster, "audit", "anchor"),
        verified=run_flask(cluster, "audit", "verify"),
    )
    print_figures(result)
    return result


def events_by_request() -> dict[str | None, list[tuple[str, int, str]]]:
    """The audit trail's events (entity type, id, action) by request id."""
    events: dict[str | None, list[tuple[str, int, str]]] = defaultdict(list)
    rows = database_rows("SELECT entity_type, entity_id, action, request_id FROM audit_events")
    for entity_type, entity_id, action, request_id in rows:
        events[request_id].append((entity_type, entity_id, action))
    return dict(events)


def rate_limit_tally(outcome: Outcome) -> dict[str, tuple[int, int, int]]:
    """Per client: requests counted against the limit, requests limited, windows spanned.

    The readers are one client (127.0.0.1) on both hosts; each writer is its own.
    """
    by_client: dict[str, list[Exchange]] = defaultdict(list)
    for e in outcome.exchanges:
        if e.client != "monitor":
            by_client["readers" if e.client.startswith("reader") else e.client].append(e)
    tally = {}
    for client, sent in by_client.items():
        span = max(e.ended for e in sent) - min(e.started for e in sent)
        counted = sum(1 for e in sent if e.status not in (0, 429))
        limited = sum(1 for e in sent if e.status == 429)
        tally[client] = (counted, limited, int(span // RATE_LIMIT_PERIOD) + 1)
    return tally


def failover_seen(outcome: Outcome) -> dict[str, float]:
    """Per host: seconds from the Redis kill to its first /health with the storage ok again."""
    killed = outcome.drill.redis_killed
    return {
        name: min(
            s.at for s in outcome.health if s.host == name and s.at > killed and s.storage == "ok"
        )
        - killed
        for name in HOSTS
    }


def peak_pool(samples: list[dict[str, int]]) -> tuple[int, int]:
    """The most client and server connections PgBouncer's pool had at one sample."""
    clients = (p.get("cl_active", 0) + p.get("cl_waiting", 0) for p in samples)
    servers = (p.get("sv_active", 0) + p.get("sv_idle", 0) + p.get("sv_used", 0) for p in samples)
    return max(clients, default=0), max(servers, default=0)


def print_figures(outcome: Outcome) -> None:
    """Print the drill's figures (``pytest -s``): the README quotes them."""
    drill, exchanges = outcome.drill, outcome.exchanges
    writes = outcome.writes
    readers = rate_limit_tally(outcome)["readers"]
    lines = {
        "load": f"{drill.ended - drill.started:.1f} s, {len(exchanges)} requests "
        + ", ".join(f"host {h}: {sum(e.host == h for e in exchanges)}" for h in HOSTS),
        "statuses": dict(sorted(Counter(e.status for e in exchanges).items())),
        "writes answered 2xx": dict(Counter(e.kind for e in outcome.acknowledged)),
        "writes answered 503": sum(e.status == 503 for e in writes),
        "503 writes that landed": sum(
            e.status == 503 and e.request_id in outcome.events for e in writes
        ),
        "audit events": sum(len(events) for events in outcome.events.values()),
        "live published posts": sum(outcome.live_posts.values()),
        "Sentinel promotion (s)": round(drill.sentinel_promoted - drill.redis_killed, 2),
        "failover seen by the app (s)": {k: round(v, 2) for k, v in failover_seen(outcome).items()},
        "PgBouncer down (s)": round(drill.pgbouncer_up - drill.pgbouncer_down, 2),
        "readers counted / limited / windows": readers,
        "PgBouncer peak clients / servers": peak_pool(drill.pool_samples),
        "/metrics requests": {k: sum(v.values()) for k, v in outcome.metrics.items()},
    }
    print("\nscale-out drill:")
    for name, value in lines.items():
        print(f"  {name}: {value}")


def during_pgbouncer_outage(exchange: Exchange, drill: Drill) -> bool:
    """Whether the exchange overlapped the time PgBouncer was down."""
    return exchange.started <= drill.pgbouncer_up and exchange.ended >= drill.pgbouncer_down


def test_every_request_is_answered_and_only_pgbouncer_downtime_gives_5xx(outcome):
    """No dropped connection; the only 5xx are 503s of requests that met PgBouncer down."""
    assert all(e.status != 0 for e in outcome.exchanges), "a request got no HTTP answer"
    server_errors = [e for e in outcome.exchanges if e.status >= 500]
    assert all(e.status == 503 for e in server_errors), Counter(e.status for e in server_errors)
    assert all(during_pgbouncer_outage(e, outcome.drill) for e in server_errors), [
        (e.request_id, e.started - outcome.drill.pgbouncer_down) for e in server_errors
    ]
    assert server_errors, "the PgBouncer restart went unnoticed"
    assert not [e for e in outcome.writes if e.status in (400, 401, 403, 415, 422)]


def test_every_acknowledged_write_is_stored_with_its_audit_event(outcome):
    """Each 2xx post, comment, edit and delete has its row and its event (by request id)."""
    assert {e.kind for e in outcome.acknowledged} == set(WRITE_KINDS)
    for write in outcome.acknowledged:
        events = outcome.events.get(write.request_id, [])
        if write.kind == "comment":
            comment_id = write.body["data"]["id"]
            assert comment_id in outcome.comments
            assert ("comment", comment_id, "create") in events, write.request_id
            continue
        if write.kind == "post":
            post_id = write.body["data"]["id"]
            assert ("post", post_id, "create") in events, write.request_id
        else:
            post_id = write.post_id
            action = "update" if write.kind == "edit" else "delete"
            assert ("post", post_id, action) in events, write.request_id
        assert post_id in outcome.posts
        if write.kind == "delete":
            assert outcome.posts[post_id][2] is not None


def test_the_last_acknowledged_edit_of_each_post_is_its_title(outcome):
    """No update is lost: a post's title is its last acknowledged edit (or a later one that
    landed although its answer was a 503)."""
    last: dict[int, Exchange] = {}
    for write in sorted((w for w in outcome.writes if w.kind == "edit"), key=lambda w: w.started):
        if 200 <= write.status < 300 or write.request_id in outcome.events:
            last[write.post_id] = write
    assert last
    for post_id, write in last.items():
        assert outcome.posts[post_id][0] == write.sent["title"], post_id


def test_every_audit_event_belongs_to_a_write_of_the_drill_or_its_setup(outcome):
    """No event appears that no write asked for (setup events carry no request id)."""
    sent = {e.request_id for e in outcome.writes}
    assert set(outcome.events) - {None} <= sent


def test_one_audit_chain_over_both_hosts_verifies_through_pgbouncer(outcome):
    """``flask audit anchor`` and ``verify`` pass over events written by both hosts."""
    hosts = {request_id.split("-")[1] for request_id in outcome.events if request_id}
    assert hosts == set(HOSTS)
    assert outcome.anchored.returncode == 0, outcome.anchored.stderr
    assert outcome.verified.returncode == 0, outcome.verified.stderr + outcome.verified.stdout


def test_feed_totals_equal_counts_of_live_published_posts(outcome):
    """feed_counts row 0 and each author's row equal COUNT(*), and so do both hosts' lists."""
    live = outcome.live_posts
    assert outcome.feed_counts.get(0, 0) == sum(live.values()) > 0
    assert {a: c for a, c in outcome.feed_counts.items() if a != 0} == dict(live)
    for totals in outcome.api_totals.values():
        assert totals[""] == sum(live.values())
        for name, total in totals.items():
            if name:
                assert total == live[outcome.authors[name]], name


def test_the_shared_rate_limit_held_across_both_hosts(outcome):
    """Counted requests stay within the limit per window, plus one window for the failover."""
    tally = rate_limit_tally(outcome)
    for client, (counted, _limited, windows) in tally.items():
        # Fixed windows: at most the limit in each; while Sentinel promoted the replica each
        # worker counted alone, which one window's worth covers.
        assert counted <= RATE_LIMIT_REQUESTS * (windows + 1), (client, counted, windows)
    assert tally["readers"][1] > 0, "the readers were never limited"


def test_health_was_degraded_during_the_failover_and_is_ok_after(outcome):
    """Each host's /health: degraded after the kill, ok now, PgBouncer mode reported."""
    for name in HOSTS:
        samples = [s for s in outcome.health if s.host == name]
        assert all(s.pgbouncer is True for s in samples if s.code == 200)
        assert any(s.status == "degraded" for s in samples if s.at > outcome.drill.redis_killed)
        status, body = outcome.final_health[name]
        assert status == 200 and body["data"]["status"] == "ok", body
        assert body["data"]["checks"]["database"]["pgbouncer"] is True
    assert max(failover_seen(outcome).values()) < FAILOVER_TIMEOUT


def test_each_hosts_metrics_count_what_the_load_generator_saw_of_it(outcome):
    """inkwell_http_requests_total by method and status equals the generator's tally."""
    for name in HOSTS:
        seen = Counter((e.method, e.status) for e in outcome.exchanges if e.host == name)
        assert outcome.metrics[name] == seen, name
