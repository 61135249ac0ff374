"""Reading /metrics in tests: parsed samples, compared before and after what a test does.

The metric objects live once per process while tests build many applications, so tests
assert on the change a request makes (:meth:`Samples.delta`), never on absolute values.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import service_missing


class Samples:
    """The samples of one exposition, by name and labels."""

    def __init__(self, text: str) -> None:
        """Parse ``text`` (the Prometheus text format)."""
        self.text = text
        self.values: dict[tuple[str, frozenset], float] = {}
        self.types: dict[str, str] = {}
        for family in text_string_to_metric_families(text):
            self.types[family.name] = family.type
            for sample in family.samples:
                self.values[(sample.name, frozenset(sample.labels.items()))] = sample.value

    def value(self, name: str, **labels: str) -> float:
        """The sample ``name`` with exactly ``labels`` (0 when absent)."""
        return self.values.get((name, frozenset(labels.items())), 0.0)

    def delta(self, before: Samples, name: str, **labels: str) -> float:
        """How much the sample grew since ``before``."""
        return self.value(name, **labels) - before.value(name, **labels)

    def label_values(self, name: str, label: str) -> set[str]:
        """Every value ``label`` takes among the samples called ``name``."""
        return {
            dict(labels)[label]
            for sample_name, labels in self.values
            if sample_name == name and label in dict(labels)
        }


@pytest.fixture
def scrape(client) -> Callable[[], Samples]:
    """Read /metrics from loopback through ``client`` (must answer 200)."""

    def read() -> Samples:
        """The current samples."""
        response = client.get("/metrics")
        assert response.status_code == 200, response.get_data(as_text=True)
        return Samples(response.get_data(as_text=True))

    return read


@pytest.fixture
def promtool() -> str:
    """The path of Prometheus' promtool (skips locally, fails in CI, when missing)."""
    path = shutil.which("promtool")
    if path is None:
        service_missing("promtool")
    return path
