"""The example Prometheus configuration and alerting rules under deploy/prometheus."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.metrics.conftest import Samples

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"
README = Path(__file__).resolve().parents[2] / "README.md"


def run_promtool(promtool: str, *args: str) -> subprocess.CompletedProcess:
    """Run promtool in deploy/prometheus and capture its output."""
    return subprocess.run(
        [promtool, *args], cwd=DEPLOY, capture_output=True, text=True, timeout=60, check=False
    )


def test_promtool_accepts_the_alerting_rules(promtool):
    result = run_promtool(promtool, "check", "rules", "alerts.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 3 rules found" in result.stdout


def test_the_alerts_fire_exactly_when_their_unit_tests_say(promtool):
    result = run_promtool(promtool, "test", "rules", "alerts_test.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_promtool_accepts_the_example_scrape_configuration(promtool):
    result = run_promtool(promtool, "check", "config", "prometheus.yml")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    "name",
    [
        "inkwell_http_requests_total",
        "inkwell_http_request_duration_seconds_bucket",
        "inkwell_rate_limit_storage_fallback",
    ],
)
def test_the_alerts_use_metrics_the_app_exposes(scrape, client, name):
    client.get("/api/v1/posts")
    samples: Samples = scrape()
    assert name in (DEPLOY / "alerts.yml").read_text()
    assert any(sample_name == name for sample_name, _ in samples.values)


def test_the_readme_lists_every_metric_the_app_exposes(scrape, client):
    client.get("/api/v1/posts")
    exposed = {
        name + ("_total" if kind == "counter" else "")
        for name, kind in scrape().types.items()
        # prometheus-client's *_created samples exist only outside gunicorn (README)
        if name.startswith("inkwell_") and not name.endswith("_created")
    }
    documented = set(re.findall(r"^\| `(inkwell_[a-z_]+)`", README.read_text(), re.M))
    assert documented == exposed
