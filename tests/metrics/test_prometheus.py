"""A real Prometheus scraping Inkwell under gunicorn: exact counts across workers and a crash.

Three workers share their rate-limit counts in a private Redis, so the statuses of known
traffic are exact whichever worker answers; Prometheus scrapes every second. One worker is
killed (SIGKILL) between two bursts of traffic: the sums must neither lose its counts nor
count anything twice.
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from app.models import Base
from tests.metrics.prometheus_server import PrometheusServer
from tests.servers import STARTUP_LINE, Gunicorn, RedisServer, burst, http_request, wait_until

pytestmark = pytest.mark.slow

LIMIT = 40
WORKERS = 3
POSTS = "/api/v1/posts"
POST_ROUTE = "/api/v1/posts/<id:post_id>"
COUNT_WAIT_SECONDS = 30


def create_schema(workdir: Path) -> None:
    """The empty schema in the SQLite file the server will use (test set-up)."""
    workdir.mkdir(parents=True, exist_ok=True)
    engine = create_engine(f"sqlite:///{workdir / 'inkwell.db'}")
    Base.metadata.create_all(engine)
    engine.dispose()


def worker_pids(server: Gunicorn) -> list[int]:
    """The pids of the gunicorn master's worker processes."""
    assert server.process is not None
    pid = server.process.pid
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(child) for child in children]


def requests_by_route_and_status(prometheus: PrometheusServer) -> dict[tuple[str, str], float]:
    """``inkwell_http_requests_total`` summed over workers, by route and status."""
    result = prometheus.query(
        'sum by (route, status) (inkwell_http_requests_total{route!~"/health.*"})'
    )
    return {(labels["route"], labels["status"]): value for labels, value in result}


def wait_for(prometheus: PrometheusServer, expected: dict, what: str) -> None:
    """Wait (bounded) until Prometheus has scraped exactly ``expected``; fail showing the diff."""
    try:
        wait_until(
            lambda: requests_by_route_and_status(prometheus) == expected,
            COUNT_WAIT_SECONDS,
            what,
        )
    except TimeoutError:
        assert requests_by_route_and_status(prometheus) == expected


@pytest.fixture
def stack(tmp_path):
    """Redis, Inkwell under gunicorn with three workers, and Prometheus scraping it."""
    create_schema(tmp_path / "web")
    metrics_dir = tmp_path / "metrics"
    with RedisServer(workdir=tmp_path / "redis") as redis_server:
        settings = {
            "rate_limit_requests": LIMIT,
            "rate_limit_period": 3600,
            "rate_limit_storage_url": redis_server.url,
            "prometheus_multiproc_dir": metrics_dir,
        }
        web = Gunicorn(workdir=tmp_path / "web", workers=WORKERS, settings=settings)
        with web:
            target = web.url.removeprefix("http://")
            with PrometheusServer(workdir=tmp_path / "prometheus", targets=[target]) as prometheus:
                yield web, prometheus, metrics_dir


def test_prometheus_sees_exact_counts_from_every_worker_across_a_crash(stack, promtool):
    web, prometheus, metrics_dir = stack
    wait_until(
        lambda: prometheus.value('up{job="inkwell"}') == 1, COUNT_WAIT_SECONDS, "a first scrape"
    )

    first = burst([web.url + POSTS], 10)
    first += burst([web.url + f"{POSTS}/424242"], 5)
    first += burst([web.url + "/no/such/page", web.url + "/wp-login.php"], 4)
    assert first == Counter({200: 10, 404: 9})
    wait_for(
        prometheus,
        {(POSTS, "200"): 10, (POST_ROUTE, "404"): 5, ("unmatched", "404"): 4},
        "the first burst in Prometheus",
    )

    killed = worker_pids(web)[0]
    os.kill(killed, signal.SIGKILL)
    wait_until(
        lambda: web.output().count(STARTUP_LINE) > WORKERS and len(worker_pids(web)) == WORKERS,
        COUNT_WAIT_SECONDS,
        "gunicorn to replace the killed worker",
    )
    assert killed not in worker_pids(web)

    second = burst([web.url + POSTS], 27)  # 40 - 19 = 21 left in the window
    assert second == Counter({200: 21, 429: 6})
    expected = {
        (POSTS, "200"): 31,
        (POSTS, "429"): 6,
        (POST_ROUTE, "404"): 5,
        ("unmatched", "404"): 4,
    }
    wait_for(prometheus, expected, "both bursts in Prometheus")

    assert (
        prometheus.value(f'sum(inkwell_http_request_duration_seconds_count{{route="{POSTS}"}})')
        == 37
    )
    assert prometheus.value('sum(inkwell_rate_limit_rejections_total{scope="application"})') == 6
    assert prometheus.value('inkwell_build_info{app="Inkwell",version="0.1.0"}') == 1
    assert prometheus.value("inkwell_rate_limit_storage_fallback") == 0
    assert prometheus.value("inkwell_db_pool_connections_in_use") == 0
    # The killed worker's counters stay in the sums; its live gauges are forgotten.
    assert (metrics_dir / f"counter_{killed}.db").exists()
    assert not list(metrics_dir.glob(f"gauge_live*_{killed}.db"))
    assert len(list(metrics_dir.glob("counter_*.db"))) >= 2

    exposition = http_request(web.url + "/metrics").body
    checked = subprocess.run(
        [promtool, "check", "metrics"], input=exposition, capture_output=True, timeout=30
    )
    assert (checked.returncode, checked.stdout, checked.stderr) == (0, b"", b"")

    # Further scrapes (of any worker) count nothing twice.
    scrapes = prometheus.value('count_over_time(up{job="inkwell"}[1m])')
    wait_until(
        lambda: prometheus.value('count_over_time(up{job="inkwell"}[1m])') >= scrapes + 3,
        COUNT_WAIT_SECONDS,
        "three more scrapes",
    )
    assert requests_by_route_and_status(prometheus) == expected


def test_the_master_empties_the_metrics_directory_it_is_given(tmp_path):
    create_schema(tmp_path / "web")
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    stale = metrics_dir / "counter_999999.db"
    stale.write_bytes(b"left by an earlier server")
    keep = metrics_dir / "README"
    keep.write_text("not a metrics file")
    settings = {"prometheus_multiproc_dir": metrics_dir}
    with Gunicorn(workdir=tmp_path / "web", workers=2, settings=settings) as web:
        assert not stale.exists()
        assert keep.exists()
        assert burst([web.url + POSTS], 4) == Counter({200: 4})
        assert len(list(metrics_dir.glob("counter_*.db"))) >= 1


def test_without_a_directory_the_master_uses_a_private_one_and_removes_it(tmp_path):
    create_schema(tmp_path / "web")
    with Gunicorn(workdir=tmp_path / "web", workers=2) as web:
        assert burst([web.url + POSTS], 4) == Counter({200: 4})
        pid = worker_pids(web)[0]
        # Each worker wrote its build info into the private directory at start-up.
        found = list(Path(tempfile.gettempdir()).glob(f"inkwell-metrics-*/gauge_livemax_{pid}.db"))
        assert len(found) == 1
        private = found[0].parent
        assert private.stat().st_mode & 0o777 == 0o700
    assert not private.exists()
