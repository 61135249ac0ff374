"""Benchmark of the real pages under gunicorn, PostgreSQL and Redis, against a reference.

    make bench                       # or: .venv/bin/python -m bench.production

1. Seeds the database (``--database-url``; its public schema is DROPPED and rebuilt from
   the migrations when it does not hold ``--posts`` posts yet) with ``seed_demo_data``,
   the code behind ``flask seed``, then runs VACUUM ANALYZE so index-only scans work.
2. Starts Inkwell under gunicorn with the project's gunicorn.conf.py (default worker
   count: 2 x cores + 1), rate limiting on and counted in Redis (``--redis-url``), access
   log to console and file, as in production; then the reference endpoint
   (bench/reference.py) under the same gunicorn settings and worker count.
3. Drives each row with ``wrk`` from a second process on loopback: same duration, same
   connections, same threads for every row; prints requests/s, p50, p99, non-2xx
   responses and the throughput ratio to the reference.
4. Measures worker memory (RSS) after 5,000 and after 20,000 mixed requests.

``--lists-only`` runs only the reference and the two list rows: a quicker check of the
feed, which writes nothing, so that the next run needs no reseeding.

The rate-limit budget is raised so that the load is not answered with 429s, but every
request is still counted in Redis.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))

from sqlalchemy import event, func, select, text  # noqa: E402

GUNICORN = Path(sys.executable).with_name("gunicorn")
GUNICORN_CONF = PROJECT_DIR / "gunicorn.conf.py"
SECRET_KEY = "bench-" + secrets.token_urlsafe(32)
STARTUP_LINE = " starting: database="
MEMORY_CHECKPOINTS = (5_000, 20_000)
#: wrk script for the POST row: a distinct title per request, as real writers send.
POST_SCRIPT = """
local threads = 0
function setup(thread)
    thread:set("id", threads)
    threads = threads + 1
end
local counter = 0
request = function()
    counter = counter + 1
    local body = string.format(
        '{"title": "Benchmark post %d %d", "body": "Written under load.", "status": "published"}',
        id, counter)
    return wrk.format("POST", nil, {
        ["Content-Type"] = "application/json",
        ["Authorization"] = "Bearer TOKEN",
    }, body)
end
"""


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
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.app_path} exited:\n{self.output()}")
            if self.output().count(STARTUP_LINE) >= self.expect_startup_lines and _get(
                f"{self.url}/health/live"
            ):
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
        """SIGTERM, then SIGKILL if it hangs."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, 9)
            self.process.wait(timeout=10)


def _get(url: str) -> bool:
    """Whether a GET of ``url`` answers 200."""
    try:
        with urlopen(url) as status:
            return status == 200
    except OSError:
        return False


class urlopen:  # noqa: N801 - used like urllib's urlopen
    """A minimal HTTP GET returning the status, as a context manager."""

    def __init__(self, url: str) -> None:
        host, _, path = url.removeprefix("http://").partition("/")
        name, _, port = host.partition(":")
        self.connection = http.client.HTTPConnection(name, int(port), timeout=10)
        self.path = "/" + path

    def __enter__(self) -> int:
        self.connection.request("GET", self.path)
        response = self.connection.getresponse()
        response.read()
        return response.status

    def __exit__(self, *exc_info: object) -> None:
        self.connection.close()


def free_port() -> int:
    """A free loopback TCP port."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- data ------------------------------------------------------------------------------------


@dataclass
class Dataset:
    """What the rows need: a token, a post id, the deepest skip, the reference SQL."""

    token: str
    post_id: int
    published: int
    reference_sql: str
    reference_params: dict


def prepare_data(database_url: str, posts: int) -> Dataset:
    """Seed unless the database already holds ``posts`` posts; VACUUM ANALYZE; capture SQL."""
    from flask_migrate import upgrade

    from app import create_app
    from app.auth import create_access_token
    from app.extensions import db
    from app.models import Post, Role, acting_as
    from app.models.base import SYSTEM_ACTOR_ID
    from app.seed import seed_demo_data
    from app.services import feed_service, user_service
    from config import Settings

    settings = Settings(
        _env_file=None, secret_key=SECRET_KEY, database_url=database_url, log_file=""
    )
    app = create_app(settings)
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
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE"))
        writer = user_service.create_user(
            f"bench-{secrets.token_hex(4)}",
            f"bench-{secrets.token_hex(4)}@example.com",
            "not-a-login",
            role=Role.AUTHOR,
        )
        token, _expires = create_access_token(writer.id)
        statements: list[tuple[str, dict]] = []

        def capture(_conn, _cursor, statement, parameters, _context, _many) -> None:
            statements.append((statement, dict(parameters or {})))

        event.listen(engine, "before_cursor_execute", capture)
        page = feed_service.feed_page(0, 20)
        event.remove(engine, "before_cursor_execute", capture)
        sql, params = statements[-1]
        return Dataset(
            token=token,
            post_id=page.items[0].id,
            published=page.total,
            reference_sql=sql,
            reference_params=params,
        )


# -- load ------------------------------------------------------------------------------------


@dataclass
class Row:
    """One line of the table."""

    name: str
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int


def _milliseconds(value: str) -> float:
    """wrk's '1.23ms' / '850.00us' / '1.02s' in milliseconds."""
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", value).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def run_wrk(name: str, url: str, args: argparse.Namespace, script: str | None = None) -> Row:
    """One wrk run against ``url``; its throughput, latency percentiles and non-2xx count."""
    command = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{args.duration}s"]
    command += ["--latency", "--timeout", "10s"]
    if script:
        command += ["-s", script]
    output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    latencies = dict(re.findall(r"^\s*(50|99)%\s+(\S+)\s*$", output, re.MULTILINE))
    if set(latencies) != {"50", "99"}:
        raise RuntimeError(f"unexpected wrk output for {name}:\n{output}")
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: .*?timeout (\d+)", output)
    return Row(
        name=name,
        requests_per_second=float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),  # type: ignore[union-attr]
        p50_ms=_milliseconds(latencies["50"]),
        p99_ms=_milliseconds(latencies["99"]),
        errors=(int(errors.group(1)) if errors else 0)
        + (int(socket_errors.group(1)) if socket_errors else 0),
    )


def wrk_script(folder: Path, name: str, lua: str) -> str:
    """Write a wrk Lua script; its path."""
    path = folder / f"{name}.lua"
    path.write_text(lua)
    return str(path)


def drive(urls: list[str], count: int, concurrency: int = 8) -> int:
    """``count`` GETs round-robin over ``urls`` from threads; how many were not 200."""

    def one(number: int) -> int:
        with urlopen(urls[number % len(urls)]) as status:
            return status

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        return sum(1 for status in pool.map(one, range(count)) if status != 200)


def rss_kib(pids: list[int]) -> list[int]:
    """Resident set size of each process, in KiB."""
    sizes = []
    for pid in pids:
        status = Path(f"/proc/{pid}/status").read_text()
        sizes.append(int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)))  # type: ignore[union-attr]
    return sizes


# -- main ------------------------------------------------------------------------------------


def server_environment(args: argparse.Namespace, workdir: Path, port: int) -> dict[str, str]:
    """The production-like environment both servers get."""
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
    )
    if args.workers:
        environment["WEB_CONCURRENCY"] = str(args.workers)
    return environment


def main() -> None:
    """Seed, serve, load, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url", default="postgresql://postgres@127.0.0.1:5432/inkwell_bench"
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/7")
    parser.add_argument("--posts", type=int, default=112_000)
    parser.add_argument("--duration", type=int, default=10, help="seconds per row")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workers", type=int, default=0, help="default: 2 x cores + 1")
    parser.add_argument(
        "--lists-only",
        action="store_true",
        help="only the reference and the two list rows (no writes, so no reseeding next time)",
    )
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed (make bench installs it with apt-get)")

    data = prepare_data(args.database_url, args.posts)
    deep_skip = min(99_980, data.published - 20)
    folder = Path(tempfile.mkdtemp(prefix="inkwell-bench-"))
    servers: list[Server] = []
    try:
        inkwell_port, reference_port = free_port(), free_port()
        inkwell_env = server_environment(args, folder / "inkwell", inkwell_port)
        inkwell = Server("wsgi:app", folder / "inkwell", inkwell_env, inkwell_port)
        reference_env = server_environment(args, folder / "reference", reference_port)
        libpq_url = args.database_url.replace("postgresql+psycopg://", "postgresql://")
        reference_env.update(
            REFERENCE_DATABASE_URL=libpq_url,
            REFERENCE_SQL=data.reference_sql,
            REFERENCE_PARAMS=json.dumps(data.reference_params),
        )
        reference = Server(
            "bench.reference:app", folder / "reference", reference_env, reference_port
        )
        servers += [reference]
        reference.start()
        workers = len(reference.worker_pids())
        ref_row = run_wrk("reference: first page rows, psycopg + json.dumps", reference.url, args)
        reference.stop()

        inkwell.expect_startup_lines = workers
        servers.append(inkwell)
        inkwell.start()
        base = inkwell.url
        cases = [
            ("GET /api/v1/posts?limit=20 (skip=0)", f"{base}/api/v1/posts?limit=20", None),
            (
                f"GET /api/v1/posts?limit=20&skip={deep_skip}",
                f"{base}/api/v1/posts?limit=20&skip={deep_skip}",
                None,
            ),
        ]
        if not args.lists_only:
            cases += [
                ("GET /api/v1/posts/<id>", f"{base}/api/v1/posts/{data.post_id}", None),
                ("GET / (HTML)", f"{base}/", None),
                ("GET /?page=500 (HTML)", f"{base}/?page=500", None),
            ]
        rows = [run_wrk(name, url, args) for name, url, _ in cases]
        memory: list[tuple[int, list[int], int]] = []
        replaced, total_after = False, None
        if not args.lists_only:
            mixed = [url for _name, url, _ in cases]
            pids = inkwell.worker_pids()
            done = 0
            for checkpoint in MEMORY_CHECKPOINTS:
                failures = drive(mixed, checkpoint - done)
                done = checkpoint
                memory.append((checkpoint, rss_kib(pids), failures))
            replaced = sorted(inkwell.worker_pids()) != sorted(pids)
            rows.append(
                run_wrk(
                    "POST /api/v1/posts (authenticated, audited)",
                    f"{base}/api/v1/posts",
                    args,
                    wrk_script(folder, "post", POST_SCRIPT.replace("TOKEN", data.token)),
                )
            )
            body = _body(f"{base}/api/v1/posts?limit=1")
            total_after = json.loads(body)["pagination"]["total"]
    finally:
        for server in servers:
            server.stop()

    print_report(args, workers, data, deep_skip, ref_row, rows, memory, replaced, total_after)
    shutil.rmtree(folder, ignore_errors=True)


def _body(url: str) -> bytes:
    """The body of a GET."""
    host, _, path = url.removeprefix("http://").partition("/")
    name, _, port = host.partition(":")
    connection = http.client.HTTPConnection(name, int(port), timeout=10)
    try:
        connection.request("GET", "/" + path)
        return connection.getresponse().read()
    finally:
        connection.close()


def print_report(
    args: argparse.Namespace,
    workers: int,
    data: Dataset,
    deep_skip: int,
    reference: Row,
    rows: list[Row],
    memory: list[tuple[int, list[int], int]],
    replaced: bool,
    total_after: int | None,
) -> None:
    """The table, and the targets that the rows run can tell."""
    cpu = platform.processor() or platform.machine()
    model = re.search(r"model name\s+: (.*)", Path("/proc/cpuinfo").read_text())
    print()
    print(
        f"machine: {os.cpu_count()} cores ({model.group(1) if model else cpu}), "
        f"Python {platform.python_version()}; gunicorn sync workers: {workers}; "
        f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s per row; "
        f"{args.posts} posts, {data.published} published; "
        f"load average at the end: {os.getloadavg()[0]:.1f}"
    )
    print()
    header = (
        f"| {'request':<52} | {'req/s':>8} | {'p50 ms':>7} | {'p99 ms':>7} | "
        f"{'non-2xx':>7} | {'x ref':>6} |"
    )
    print(header)
    print("|" + "|".join("-" * (len(cell)) for cell in header.split("|")[1:-1]) + "|")
    for row in [reference, *rows]:
        ratio = row.requests_per_second / reference.requests_per_second
        print(
            f"| {row.name:<52} | {row.requests_per_second:>8.1f} | {row.p50_ms:>7.2f} | "
            f"{row.p99_ms:>7.2f} | {row.errors:>7} | {ratio:>5.2f}x |"
        )
    first, deep, *others = rows
    print()
    checks = [
        (
            "list skip=0 throughput >= 0.60x reference (exact total included)",
            first.requests_per_second / reference.requests_per_second >= 0.60,
            f"{first.requests_per_second / reference.requests_per_second:.2f}x",
        ),
        (
            f"deep page (skip={deep_skip}) p50 <= 3x first page p50",
            deep.p50_ms <= 3 * first.p50_ms,
            f"{deep.p50_ms / first.p50_ms:.2f}x",
        ),
    ]
    if others:
        _item, home, page500, _post = others
        checks.append(
            (
                "GET /?page=500 p50 <= 3x GET / p50",
                page500.p50_ms <= 3 * home.p50_ms,
                f"{page500.p50_ms / home.p50_ms:.2f}x",
            )
        )
    if memory:
        (early_n, early, early_failures), (late_n, late, late_failures) = memory
        growth = sum(late) / sum(early) - 1
        checks.append(
            (
                f"worker RSS after {late_n} mixed requests within 10% of after {early_n}",
                abs(growth) <= 0.10 and not replaced,
                f"{sum(early) // 1024} MiB -> {sum(late) // 1024} MiB ({growth:+.1%}) over "
                f"{len(late)} workers; non-200: {early_failures + late_failures}"
                + ("; WORKERS WERE REPLACED" if replaced else ""),
            )
        )
    for label, met, figure in checks:
        print(f"[{'met' if met else 'NOT MET'}] {label}: {figure}")
    if total_after is not None:
        print(f"feed total after the POST row: {total_after} (was {data.published})")


if __name__ == "__main__":
    main()
