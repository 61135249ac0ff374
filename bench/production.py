"""Benchmark of Inkwell's requests under gunicorn, PostgreSQL and Redis, each against its own
plain reference, interleaved in rounds.

    make bench                       # or: .venv/bin/python -m bench.production
    make bench BENCH_ARGS="--rounds 3 --duration 3 --rows list,deep,home"

1. Seeds the database (``--database-url``; its public schema is DROPPED and rebuilt from
   the migrations when it does not hold ``--posts`` posts yet) with ``seed_demo_data``,
   the code behind ``flask seed``, then runs VACUUM ANALYZE. Every row reads this data.
2. Starts, side by side and with the same gunicorn.conf.py and worker count (default
   2 x cores + 1, gthread workers): Inkwell, with rate limiting on and counted in Redis
   (``--redis-url``, budget raised so that no request is refused) and the access log to
   console and file, as in production; bench/reference.py, one plain WSGI callable doing
   each request's reads or writes with psycopg and Jinja2; and bench/bare_app.py when a
   selected row compares with a bare Flask endpoint.
3. Probes every row once on both sides (a row whose answer is not the expected status is
   reported "not available"), then runs ``--rounds`` rounds. In each round every row
   runs ``wrk`` against its reference and then against Inkwell, one right after the other,
   so that drift of a shared machine hits both sides of a ratio alike. The create row
   runs last in a round; the posts it wrote are then deleted (the feed counters follow)
   and the table vacuumed, so that every round reads the same data.
4. Prints per row the medians over the rounds: Inkwell and reference requests/s, the
   median of the per-round ratios and their spread (min..max), Inkwell's p50, and the
   row's target, met or NOT MET; then the worker memory (RSS) after 5,000 and 20,000
   mixed requests, the feed total after the run and whether the audit chain is intact.
"""

from __future__ import annotations

import argparse
import http.client
import math
import os
import platform
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))

import psycopg  # noqa: E402

GUNICORN = Path(sys.executable).with_name("gunicorn")
GUNICORN_CONF = PROJECT_DIR / "gunicorn.conf.py"
SECRET_KEY = "bench-" + secrets.token_urlsafe(32)
STARTUP_LINE = " starting: database="
MEMORY_CHECKPOINTS = (5_000, 20_000)
#: The memory check's first run, which measures the rate; its longest run.
MEMORY_RATE_SECONDS = 3
MEMORY_MAX_SECONDS = 300
MIN_ROUNDS = 3
#: The ETag bench/bare_app.py gives its list.
BARE_ETAG = '"bare-feed"'
#: Every run's wrk script starts with this: it counts answers whose status is not EXPECT
#: and prints their number at the end (wrk itself only counts statuses >= 400); each
#: thread stops after LIMIT answers unless LIMIT is 0.
STATUS_SCRIPT = """
local threads = {}
function setup(thread)
    thread:set("id", #threads)
    table.insert(threads, thread)
end
function init(args)
    unexpected, answered = 0, 0
end
function response(status, headers, body)
    if status ~= EXPECT then unexpected = unexpected + 1 end
    answered = answered + 1
    if LIMIT > 0 and answered >= LIMIT then wrk.thread:stop() end
end
function done(summary, latency, requests)
    local count = 0
    for _, thread in ipairs(threads) do count = count + thread:get("unexpected") end
    io.write(string.format("unexpected statuses: %d\\n", count))
end
"""
#: Added for the create rows: a title never sent before (RUN is fresh for every run).
POST_SCRIPT = """
local counter = 0
request = function()
    counter = counter + 1
    local body = string.format(
        '{"title": "Benchmark post RUN %d %d", "body": "Written under load.", '
        .. '"status": "published"}', id, counter)
    return wrk.format("POST", nil, {
        ["Content-Type"] = "application/json",
        ["Authorization"] = "Bearer TOKEN",
    }, body)
end
"""
#: Added for the memory check: PATHS in turn.
MIXED_SCRIPT = """
local paths = {PATHS}
local sent = 0
request = function()
    sent = sent + 1
    return wrk.format("GET", paths[(sent % #paths) + 1])
end
"""


# -- servers ---------------------------------------------------------------------------------


@dataclass
class Server:
    """A gunicorn serving ``app_path`` with the project's config on a loopback port."""

    app_path: str
    workdir: Path
    environment: dict[str, str]
    port: int
    expect_startup_lines: int = 0
    process: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        """Base URL."""
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        """What gunicorn and the app printed so far."""
        path = self.workdir / "server.out"
        return path.read_text(errors="replace") if path.exists() else ""

    def start(self) -> Server:
        """Start and wait until every worker is up and the server answers."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        with (self.workdir / "server.out").open("ab") as output:
            self.process = subprocess.Popen(
                [str(GUNICORN), "--config", str(GUNICORN_CONF), self.app_path],
                cwd=self.workdir,
                env=self.environment,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.app_path} exited:\n{self.output()}")
            booted = self.output().count(STARTUP_LINE) >= self.expect_startup_lines
            if booted and request(self.url, "/health/live").status == 200:
                time.sleep(1)  # let the remaining workers finish booting
                return self
            time.sleep(0.2)
        raise TimeoutError(f"{self.app_path} did not start:\n{self.output()}")

    def worker_pids(self) -> list[int]:
        """The worker processes' ids."""
        assert self.process is not None
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in children.read_text().split()]

    def stop(self) -> None:
        """SIGTERM, then SIGKILL of its process group if it hangs."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, 9)
            self.process.wait(timeout=10)


@dataclass
class Answer:
    """Status, headers and body of one request."""

    status: int
    headers: dict[str, str]
    body: bytes


def request(
    base: str, path: str, method: str = "GET", headers: tuple = (), body: bytes | None = None
) -> Answer:
    """One HTTP request to ``base`` + ``path``; status 0 when the server cannot be reached."""
    host, _, port = base.removeprefix("http://").partition(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        connection.request(method, path, body=body, headers=dict(headers))
        response = connection.getresponse()
        return Answer(response.status, dict(response.getheaders()), response.read())
    except OSError:
        return Answer(0, {}, b"")
    finally:
        connection.close()


def free_port() -> int:
    """A free loopback TCP port."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- data ------------------------------------------------------------------------------------


@dataclass
class Dataset:
    """What the rows need: a writer's token, a post, a user, the feed's size."""

    token: str
    post_id: int
    username: str
    published: int
    last_post_id: int


def libpq_url(database_url: str) -> str:
    """``database_url`` without a SQLAlchemy driver name."""
    return re.sub(r"^postgresql\+\w+://", "postgresql://", database_url)


def inkwell_app(database_url: str):
    """An Inkwell app on the benchmark database (for seeding and checks, not for load)."""
    from app import create_app
    from config import Settings

    settings = Settings(
        _env_file=None, secret_key=SECRET_KEY, database_url=database_url, log_file=""
    )
    return create_app(settings)


def prepare_data(database_url: str, posts: int) -> Dataset:
    """Seed unless the database already holds ``posts`` posts; VACUUM ANALYZE; pick rows."""
    from flask_migrate import upgrade
    from sqlalchemy import func, select, text

    from app.auth import create_access_token
    from app.extensions import db
    from app.models import Post, Role, acting_as
    from app.models.base import SYSTEM_ACTOR_ID
    from app.seed import seed_demo_data
    from app.services import user_service

    app = inkwell_app(database_url)
    with app.app_context():
        engine = db.engine
        with engine.connect() as connection:
            exists = connection.scalar(text("SELECT to_regclass('public.feed_counts')"))
        have = db.session.scalar(select(func.count()).select_from(Post)) if exists else None
        db.session.remove()
        if have != posts:
            print(f"seeding {posts} posts into a fresh schema ...", flush=True)
            with engine.begin() as connection:
                connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
                connection.execute(text("CREATE SCHEMA public"))
            upgrade()
            started = time.perf_counter()
            with acting_as(SYSTEM_ACTOR_ID):
                seed_demo_data(db.session, posts=posts, seed=2026)
            print(f"  seeded in {time.perf_counter() - started:.1f}s", flush=True)
        else:
            upgrade()  # a migration newer than the seed applies to the seeded data
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE"))
        writer = user_service.create_user(
            f"bench-{secrets.token_hex(4)}",
            f"bench-{secrets.token_hex(4)}@example.com",
            "not-a-login",
            role=Role.AUTHOR,
        )
        token, _expires = create_access_token(writer.id)
    with psycopg.connect(libpq_url(database_url)) as connection:
        # The post page shows a post with comments: the newest of those with the most.
        post_id, username = connection.execute(
            "SELECT p.id, u.username FROM posts p JOIN users u ON u.id = p.author_id "
            "JOIN comments c ON c.post_id = p.id AND c.deleted_at IS NULL "
            "WHERE p.status = 'published' AND p.deleted_at IS NULL "
            "GROUP BY p.id, u.username ORDER BY count(*) DESC, p.published_at DESC LIMIT 1"
        ).fetchone()
        published = connection.execute(
            "SELECT published FROM feed_counts WHERE author_id = 0"
        ).fetchone()[0]
        last_post_id = connection.execute("SELECT max(id) FROM posts").fetchone()[0]
    return Dataset(token, post_id, username, published, last_post_id)


def forget_written_posts(database_url: str, last_post_id: int) -> int:
    """Delete the posts written after the seed (triggers fix the counters); VACUUM; count.

    Requests still in flight when wrk stopped may commit a little later: deleting goes on
    until a second passes without a new post (at most a minute).
    """
    deleted = 0
    with psycopg.connect(libpq_url(database_url), autocommit=True) as connection:
        for attempt in range(60):
            removed = connection.execute("DELETE FROM posts WHERE id > %s", (last_post_id,))
            deleted += removed.rowcount
            if removed.rowcount == 0 and attempt > 0:
                break
            time.sleep(1)
        connection.execute("VACUUM ANALYZE posts, feed_counts")
    return deleted


def audit_chain_intact(database_url: str) -> str:
    """``flask audit verify``'s walk over the whole trail, as one line."""
    from app.audit import verify_chain
    from app.extensions import db

    app = inkwell_app(database_url)
    with app.app_context(), db.engine.connect() as connection:
        report = verify_chain(connection)
    return "intact" if report.intact else f"BROKEN: {report}"


# -- rows ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One row: an Inkwell request, the reference it is compared with, and its target.

    ``reference`` names the server of the comparison ("reference" or "bare"); without one
    the row's p50 is compared with the p50 of row ``p50_of`` in the same round.
    """

    name: str
    label: str
    path: str
    reference: str | None = "reference"
    min_ratio: float | None = None
    p50_of: str | None = None
    max_p50_ratio: float | None = None
    method: str = "GET"
    headers: tuple[tuple[str, str], ...] = ()
    reference_headers: tuple[tuple[str, str], ...] | None = None
    expect: int = 200
    writes: bool = False
    etag_of: str | None = None

    def inkwell_headers(self, inkwell: Server) -> tuple[tuple[str, str], ...]:
        """The headers of the Inkwell side (``If-None-Match``: the current ETag of etag_of)."""
        if self.etag_of is None:
            return self.headers
        etag = request(inkwell.url, self.etag_of).headers.get("ETag", '"none-sent"')
        return (*self.headers, ("If-None-Match", etag))

    @property
    def target(self) -> str:
        """The target as printed."""
        if self.min_ratio is not None:
            return f">= {self.min_ratio:.2f}x"
        return f"p50 <= {self.max_p50_ratio}x {self.p50_of}"


def build_cases(data: Dataset, deep_skip: int) -> list[Case]:
    """Every row, in the order they run in a round (the writing row last)."""
    return [
        Case(
            "list",
            "GET /api/v1/posts?limit=20 (exact total)",
            "/api/v1/posts?limit=20",
            min_ratio=0.60,
        ),
        Case(
            "deep",
            f"GET /api/v1/posts?limit=20&skip={deep_skip}",
            f"/api/v1/posts?limit=20&skip={deep_skip}",
            reference=None,
            p50_of="list",
            max_p50_ratio=1.5,
        ),
        Case("post", "GET /api/v1/posts/<id>", f"/api/v1/posts/{data.post_id}", min_ratio=0.60),
        Case(
            "user", "GET /api/v1/users/<username>", f"/api/v1/users/{data.username}", min_ratio=0.60
        ),
        Case("home", "GET / (HTML)", "/", min_ratio=0.50),
        Case("page500", "GET /?page=500 (HTML)", "/?page=500", min_ratio=0.50),
        Case("author", "GET /u/<username> (HTML)", f"/u/{data.username}", min_ratio=0.50),
        Case("post-page", "GET /posts/<id> (HTML)", f"/posts/{data.post_id}", min_ratio=0.50),
        Case(
            "conditional",
            "GET /api/v1/posts?limit=20 If-None-Match (304)",
            "/api/v1/posts?limit=20",
            "bare",
            0.70,
            etag_of="/api/v1/posts?limit=20",
            reference_headers=(("If-None-Match", BARE_ETAG),),
            expect=304,
        ),
        Case(
            "create",
            "POST /api/v1/posts (authenticated, audited)",
            "/api/v1/posts",
            min_ratio=0.50,
            method="POST",
            expect=201,
            writes=True,
        ),
    ]


# -- load ------------------------------------------------------------------------------------


@dataclass
class Run:
    """One wrk run: throughput, latency percentiles and failed answers."""

    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int
    requests: int = 0


def milliseconds(value: str) -> float:
    """wrk's '1.23ms' / '850.00us' / '1.02s' / '1.00m' in milliseconds."""
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def wrk(
    url: str,
    args: argparse.Namespace,
    folder: Path,
    headers: tuple = (),
    expect: int = 200,
    lua: str = "",
    limit: int = 0,
    duration: int | None = None,
) -> Run:
    """One wrk run against ``url``; answers other than ``expect`` count as failed."""
    script = folder / f"run-{secrets.token_hex(4)}.lua"
    status_lua = STATUS_SCRIPT.replace("EXPECT", str(expect)).replace("LIMIT", str(limit))
    script.write_text(status_lua + lua)
    command = ["wrk", f"-t{args.threads}", f"-c{args.connections}", "-s", str(script)]
    command += [f"-d{duration or args.duration}s", "--latency", "--timeout", "10s"]
    for name, value in headers:
        command += ["-H", f"{name}: {value}"]
    output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    script.unlink()
    latencies = dict(re.findall(r"^\s*(50|99)%\s+(\S+)\s*$", output, re.MULTILINE))
    throughput = re.search(r"Requests/sec:\s+([\d.]+)", output)
    unexpected = re.search(r"unexpected statuses: (\d+)", output)
    if set(latencies) != {"50", "99"} or throughput is None or unexpected is None:
        raise RuntimeError(f"unexpected wrk output for {url}:\n{output}")
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    return Run(
        requests_per_second=float(throughput.group(1)),
        p50_ms=milliseconds(latencies["50"]),
        p99_ms=milliseconds(latencies["99"]),
        errors=int(unexpected.group(1))
        + (sum(int(n) for n in socket_errors.groups()) if socket_errors else 0),
        requests=int(re.search(r"(\d+) requests in", output).group(1)),  # type: ignore[union-attr]
    )


def post_lua(token: str) -> str:
    """The create rows' request function: titles never sent before."""
    return POST_SCRIPT.replace("TOKEN", token).replace("RUN", secrets.token_hex(4))


@dataclass
class Sides:
    """Where a row's requests go: Inkwell and the row's reference server."""

    inkwell: Server
    references: dict[str, Server]


def probe(case: Case, sides: Sides, token: str) -> str | None:
    """Why the row cannot run (an unexpected status on either side), or None."""
    targets = [("Inkwell", sides.inkwell, case.inkwell_headers(sides.inkwell))]
    if case.reference:
        reference_headers = (
            case.headers if case.reference_headers is None else case.reference_headers
        )
        targets.append((case.reference, sides.references[case.reference], reference_headers))
    body = None
    for side, server, headers in targets:
        if case.method == "POST":
            headers = (("Authorization", f"Bearer {token}"), ("Content-Type", "application/json"))
            title = f"Benchmark probe {secrets.token_hex(4)}"
            body = f'{{"title": "{title}", "body": "Probe.", "status": "published"}}'.encode()
        answer = request(server.url, case.path, case.method, headers, body)
        if answer.status != case.expect:
            return f"{side} answers {answer.status}, not {case.expect}"
    return None


def run_round(
    cases: list[Case], sides: Sides, args: argparse.Namespace, data: Dataset, folder: Path
) -> dict[str, tuple[Run | None, Run]]:
    """One round: each row's reference, then Inkwell; the writes undone after the write rows."""
    results: dict[str, tuple[Run | None, Run]] = {}
    for case in cases:
        reference_run = None
        if case.reference:
            server = sides.references[case.reference]
            headers = case.headers if case.reference_headers is None else case.reference_headers
            lua = post_lua(data.token) if case.method == "POST" else ""
            reference_run = wrk(server.url + case.path, args, folder, headers, case.expect, lua)
        lua = post_lua(data.token) if case.method == "POST" else ""
        headers = case.inkwell_headers(sides.inkwell)
        url = sides.inkwell.url + case.path
        inkwell_run = wrk(url, args, folder, headers, case.expect, lua)
        results[case.name] = (reference_run, inkwell_run)
        if case.writes:
            forget_written_posts(args.database_url, data.last_post_id)
    return results


def rss_kib(pids: list[int]) -> list[int]:
    """Resident set size of each process, in KiB."""
    sizes = []
    for pid in pids:
        status = Path(f"/proc/{pid}/status").read_text()
        sizes.append(int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)))  # type: ignore[union-attr]
    return sizes


def memory_check(
    inkwell: Server, paths: list[str], args: argparse.Namespace, folder: Path
) -> list[tuple[int, list[int], int]]:
    """Worker RSS after each checkpoint of mixed GETs: (requests, KiB per worker, failures)."""
    pids = inkwell.worker_pids()
    lua = MIXED_SCRIPT.replace("PATHS", ", ".join(f'"{path}"' for path in paths))
    # wrk waits out its whole duration even when every thread has stopped at its limit, so
    # each checkpoint's duration is sized from the rate of a short first run (counted too).
    warm_up = wrk(inkwell.url + "/", args, folder, lua=lua, duration=MEMORY_RATE_SECONDS)
    done, failed, memory = warm_up.requests, warm_up.errors, []
    for checkpoint in MEMORY_CHECKPOINTS:
        if done < checkpoint:
            per_thread = -(-(checkpoint - done) // args.threads)
            seconds = 2 * (checkpoint - done) / max(warm_up.requests_per_second, 1.0) + 5
            duration = min(MEMORY_MAX_SECONDS, math.ceil(seconds))
            run = wrk(inkwell.url + "/", args, folder, lua=lua, limit=per_thread, duration=duration)
            done += run.requests  # what wrk reports: the checkpoint's, or less if the rate fell
            failed += run.errors
        memory.append((done, rss_kib(pids), failed))
        failed = 0
    if sorted(inkwell.worker_pids()) != sorted(pids):
        memory.append((-1, [], 0))  # workers were replaced: the figures mean nothing
    return memory


# -- report ----------------------------------------------------------------------------------


@dataclass
class Summary:
    """A row's medians over the rounds and whether its target is met."""

    case: Case
    inkwell_rps: float
    reference_rps: float | None
    ratios: list[float]
    p50_ms: float
    errors: str

    @property
    def ratio(self) -> float:
        """The median of the per-round ratios."""
        return statistics.median(self.ratios)

    @property
    def met(self) -> bool:
        """Whether the median ratio meets the row's target."""
        if self.case.min_ratio is not None:
            return self.ratio >= self.case.min_ratio
        return self.ratio <= (self.case.max_p50_ratio or 0)


def summarise(case: Case, rounds: list[dict[str, tuple[Run | None, Run]]]) -> Summary | None:
    """The row's summary; None when it has nothing to compare with."""
    inkwell = [result[case.name][1] for result in rounds]
    references = [result[case.name][0] for result in rounds]
    if case.reference:
        ratios = [
            run.requests_per_second / reference.requests_per_second
            for run, reference in zip(inkwell, references, strict=True)
            if reference is not None
        ]
    elif all(case.p50_of in result for result in rounds):
        ratios = [result[case.name][1].p50_ms / result[case.p50_of][1].p50_ms for result in rounds]
    else:
        return None
    reference_errors = sum(run.errors for run in references if run is not None)
    return Summary(
        case=case,
        inkwell_rps=statistics.median(run.requests_per_second for run in inkwell),
        reference_rps=(
            statistics.median(run.requests_per_second for run in references if run is not None)
            if case.reference
            else None
        ),
        ratios=ratios,
        p50_ms=statistics.median(run.p50_ms for run in inkwell),
        errors=f"{sum(run.errors for run in inkwell)}/"
        + (str(reference_errors) if case.reference else "-"),
    )


def versions(args: argparse.Namespace) -> str:
    """PostgreSQL's and Redis's versions."""
    import redis

    with psycopg.connect(libpq_url(args.database_url)) as connection:
        postgres = connection.execute("SHOW server_version").fetchone()[0].split()[0]
    client = redis.Redis.from_url(args.redis_url)
    try:
        redis_version = client.info("server")["redis_version"]
    finally:
        client.close()
    return f"PostgreSQL {postgres} and Redis {redis_version} on the same machine"


def print_report(
    args: argparse.Namespace,
    workers: int,
    data: Dataset,
    summaries: list[tuple[Case, Summary | None, str | None]],
    loads: tuple[float, float],
    memory: list[tuple[int, list[int], int]],
    footer: list[str],
) -> None:
    """The machine, the table and the checks."""
    model = re.search(r"model name\s+: (.*)", Path("/proc/cpuinfo").read_text())
    print()
    print(
        f"machine: {len(os.sched_getaffinity(0))} cores "
        f"({model.group(1) if model else platform.machine()}), "
        f"Python {platform.python_version()}, {versions(args)}"
    )
    print(
        f"gunicorn: {workers} gthread workers x {os.environ.get('THREADS', '4')} threads per "
        f"server; wrk -t{args.threads} -c{args.connections} -d{args.duration}s per run; "
        f"{args.rounds} rounds (reference, then Inkwell, row by row); "
        f"{args.posts} posts, {data.published} published"
    )
    print(f"load average (1 min): {loads[0]:.2f} at the start, {loads[1]:.2f} at the end")
    print()
    header = (
        "| row | Inkwell req/s | reference req/s | ratio (median) | spread (min..max) "
        "| Inkwell p50 ms | failed (Inkwell/ref) | target | |"
    )
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    for case, summary, unavailable in summaries:
        if summary is None:
            reason = unavailable or "its comparison row was not run"
            blanks = " - |" * 6
            print(f"| {case.label} |{blanks} {case.target} | not available: {reason} |")
            continue
        reference = f"{summary.reference_rps:.0f}" if summary.reference_rps else "-"
        spread = f"{min(summary.ratios):.2f}..{max(summary.ratios):.2f}"
        print(
            f"| {case.label} | {summary.inkwell_rps:.0f} | {reference} | {summary.ratio:.2f}x | "
            f"{spread} | {summary.p50_ms:.2f} | {summary.errors} | {case.target} | "
            f"{'met' if summary.met else 'NOT MET'} |"
        )
    print()
    if memory:
        if memory[-1][0] == -1:
            print("[NOT MET] worker memory: WORKERS WERE REPLACED during the mixed requests")
        else:
            (early_n, early, early_failed), (late_n, late, late_failed) = memory
            growth = sum(late) / sum(early) - 1
            print(
                f"[{'met' if abs(growth) <= 0.10 else 'NOT MET'}] worker RSS after {late_n} "
                f"mixed requests within 10% of after {early_n}: {sum(early) // 1024} MiB -> "
                f"{sum(late) // 1024} MiB ({growth:+.1%}) over {len(late)} workers; "
                f"failed: {early_failed + late_failed}"
            )
    for line in footer:
        print(line)


# -- main ------------------------------------------------------------------------------------


def server_environment(
    args: argparse.Namespace, workdir: Path, port: int, workers: int
) -> dict[str, str]:
    """The production-like environment every server gets."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("RATE_LIMIT", "LOG_", "DATABASE_URL", "SECRET_KEY", "DEBUG"))
    }
    environment.update(
        PYTHONPATH=str(PROJECT_DIR),
        SECRET_KEY=SECRET_KEY,
        DATABASE_URL=args.database_url,
        RATE_LIMIT_ENABLED="true",
        RATE_LIMIT_STORAGE_URL=args.redis_url,
        RATE_LIMIT_REQUESTS="1000000000",
        LOG_FILE=str(workdir / "inkwell.log"),
        LOG_LEVEL="INFO",
        HOST="127.0.0.1",
        PORT=str(port),
        WEB_CONCURRENCY=str(workers),
        REFERENCE_DATABASE_URL=libpq_url(args.database_url),
    )
    return environment


def start_server(
    app_path: str, name: str, args: argparse.Namespace, folder: Path, workers: int, lines: int
) -> Server:
    """A gunicorn for ``app_path`` on a free port, not started yet."""
    port = free_port()
    workdir = folder / name
    environment = server_environment(args, workdir, port, workers)
    return Server(app_path, workdir, environment, port, expect_startup_lines=lines)


def parse_args() -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url", default="postgresql://postgres@127.0.0.1:5432/inkwell_bench"
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/7")
    parser.add_argument("--posts", type=int, default=112_000)
    parser.add_argument("--rounds", type=int, default=5, help=f"at least {MIN_ROUNDS}")
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    parser.add_argument("--rows", default="", help="comma-separated row names (default: all)")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workers", type=int, default=0, help="default: 2 x cores + 1")
    parser.add_argument("--no-memory", action="store_true", help="skip the RSS check")
    args = parser.parse_args()
    if args.rounds < MIN_ROUNDS:
        parser.error(f"--rounds must be at least {MIN_ROUNDS}")
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed (make bench installs it with apt-get)")
    return args


def main() -> None:
    """Seed, serve, probe, run the rounds, print the table."""
    args = parse_args()
    selected = {name.strip() for name in args.rows.split(",") if name.strip()}
    data = prepare_data(args.database_url, args.posts)
    deep_skip = (data.published // 20 - 1) * 20
    workers = args.workers or 2 * len(os.sched_getaffinity(0)) + 1
    folder = Path(tempfile.mkdtemp(prefix="inkwell-bench-"))
    servers: list[Server] = []
    rounds: list[dict[str, tuple[Run | None, Run]]] = []
    unavailable: dict[str, str] = {}
    memory: list[tuple[int, list[int], int]] = []
    footer: list[str] = []
    try:
        inkwell = start_server("wsgi:app", "inkwell", args, folder, workers, workers)
        servers.append(inkwell)
        inkwell.start()
        reference = start_server("bench.reference:app", "reference", args, folder, workers, 0)
        servers.append(reference)
        reference.start()
        sides = Sides(inkwell, {"reference": reference})
        cases = [
            case for case in build_cases(data, deep_skip) if not selected or case.name in selected
        ]
        if any(case.reference == "bare" for case in cases):
            bare = start_server("bench.bare_app:app", "bare", args, folder, workers, 0)
            servers.append(bare)
            sides.references["bare"] = bare.start()
        for case in cases:
            reason = probe(case, sides, data.token)
            if reason:
                unavailable[case.name] = reason
        forget_written_posts(args.database_url, data.last_post_id)
        runnable = [case for case in cases if case.name not in unavailable]
        load_start = os.getloadavg()[0]
        for number in range(1, args.rounds + 1):
            started = time.monotonic()
            rounds.append(run_round(runnable, sides, args, data, folder))
            print(
                f"round {number}/{args.rounds} in {time.monotonic() - started:.0f}s, "
                f"load average {os.getloadavg()[0]:.2f}",
                flush=True,
            )
        load_end = os.getloadavg()[0]
        reads = [case.path for case in runnable if case.method == "GET" and case.expect == 200]
        if not args.no_memory and reads:
            memory = memory_check(inkwell, reads, args, folder)
        answer = request(inkwell.url, "/api/v1/posts?limit=1")
        total = re.search(rb'"total":(\d+)', answer.body)
        footer.append(
            f"feed total after the run: {int(total.group(1)) if total else 'unreadable'} "
            f"(seeded: {data.published}; the posts written by the create rows are removed)"
        )
    finally:
        for server in servers:
            server.stop()
    footer.append(f"audit chain after the run: {audit_chain_intact(args.database_url)}")
    summaries = [
        (
            case,
            None if case.name in unavailable else summarise(case, rounds),
            unavailable.get(case.name),
        )
        for case in cases
    ]
    print_report(args, workers, data, summaries, (load_start, load_end), memory, footer)
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
