"""A real Prometheus (Debian's ``prometheus``) on a private loopback port, for tests.

It scrapes the given targets every second, keeps its data under ``workdir``, and answers
PromQL through its HTTP API (:meth:`PrometheusServer.query`). A missing binary skips the
test locally and fails it in CI.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

from tests.conftest import service_missing
from tests.servers import START_TIMEOUT_SECONDS, free_port, http_request, wait_until

SCRAPE_INTERVAL = "1s"


@dataclass
class PrometheusServer:
    """Prometheus scraping ``targets`` (``host:port``) as job ``job``."""

    workdir: Path
    targets: list[str]
    job: str = "inkwell"
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        """The base URL of Prometheus' web interface and API."""
        return f"http://127.0.0.1:{self.port}"

    def config(self) -> dict:
        """The scrape configuration (YAML is a superset of JSON, so it is written as JSON)."""
        return {
            "global": {"scrape_interval": SCRAPE_INTERVAL, "scrape_timeout": SCRAPE_INTERVAL},
            "scrape_configs": [
                {"job_name": self.job, "static_configs": [{"targets": self.targets}]}
            ],
        }

    def start(self) -> PrometheusServer:
        """Start Prometheus and wait until it is ready."""
        executable = shutil.which("prometheus")
        if executable is None:
            service_missing("prometheus")
        self.workdir.mkdir(parents=True, exist_ok=True)
        config_path = self.workdir / "prometheus.yml"
        config_path.write_text(json.dumps(self.config(), indent=2))
        with (self.workdir / "prometheus.out").open("ab") as output:
            self.process = subprocess.Popen(
                [
                    executable,
                    f"--config.file={config_path}",
                    f"--storage.tsdb.path={self.workdir / 'data'}",
                    f"--web.listen-address=127.0.0.1:{self.port}",
                    "--log.level=warn",
                ],
                cwd=self.workdir,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        wait_until(self._ready, START_TIMEOUT_SECONDS, f"prometheus on port {self.port}")
        return self

    def _ready(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            log = (self.workdir / "prometheus.out").read_text(errors="replace")
            raise RuntimeError(f"prometheus exited early:\n{log}")
        try:
            return http_request(f"{self.url}/-/ready", timeout=1).status == 200
        except OSError:
            return False

    def query(self, expression: str) -> list[tuple[dict[str, str], float]]:
        """The instant vector ``expression`` evaluates to now: (labels, value) pairs."""
        url = f"{self.url}/api/v1/query?{urllib.parse.urlencode({'query': expression})}"
        answer = json.loads(http_request(url).body)
        assert answer["status"] == "success", answer
        return [(item["metric"], float(item["value"][1])) for item in answer["data"]["result"]]

    def value(self, expression: str) -> float | None:
        """The single value ``expression`` evaluates to, None when the vector is empty."""
        result = self.query(expression)
        assert len(result) <= 1, result
        return result[0][1] if result else None

    def stop(self) -> None:
        """Stop Prometheus (SIGTERM, then SIGKILL if it hangs)."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)

    def __enter__(self) -> PrometheusServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
