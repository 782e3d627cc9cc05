"""Prometheus metrics, one registry per app (tests build many apps in one process).

Nothing Prometheus-shaped happens per request: the envelope adds to plain dicts (a count per method, route
template and status; a latency bucket per method and route), and the families are built from them at scrape time.
prometheus_client's own counters take a lock and walk label objects on every call, which costs more than a
validation. Labels are route *templates*, never raw paths (key ids would explode the series count). Validation
outcomes are counted by the validator in a plain Counter, read at scrape time too.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class _Latency:
    """One histogram series: counts per bucket (the last one is +Inf) and the sum of observations."""

    __slots__ = ("buckets", "total")

    def __init__(self) -> None:
        self.buckets = [0] * (len(LATENCY_BUCKETS) + 1)
        self.total = 0.0


class _RequestsCollector(Collector):
    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def collect(self) -> Iterator[CounterMetricFamily | HistogramMetricFamily]:
        requests = CounterMetricFamily(
            "hokusai_http_requests", "HTTP requests by method, route and status", labels=["method", "route", "status"]
        )
        for (method, route, status), count in sorted(self._metrics.requests.items()):
            requests.add_metric([method, route, str(status)], count)
        yield requests
        latency = HistogramMetricFamily(
            "hokusai_http_request_duration_seconds",
            "HTTP request latency by method and route",
            labels=["method", "route"],
        )
        for (method, route), series in sorted(self._metrics.latency.items()):
            cumulative, running = [], 0
            for bound, count in zip((*map(str, LATENCY_BUCKETS), "+Inf"), series.buckets, strict=True):
                running += count
                cumulative.append((bound, running))
            latency.add_metric([method, route], cumulative, series.total)
        yield latency


class _CountersCollector(Collector):
    def __init__(self, outcomes: Callable[[], Counter[str]], gauges: Callable[[], dict[str, float]]) -> None:
        self._outcomes = outcomes
        self._gauges = gauges

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        family = CounterMetricFamily(
            "hokusai_key_validations",
            "API key validations by outcome (valid or the failure code)",
            labels=["outcome"],
        )
        for outcome, count in sorted(self._outcomes().items()):
            family.add_metric([outcome], count)
        yield family
        for name, value in sorted(self._gauges().items()):
            yield GaugeMetricFamily(f"hokusai_{name}", name.replace("_", " "), value=value)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests: Counter[tuple[str, str, int]] = Counter()
        self.latency: dict[tuple[str, str], _Latency] = {}
        self.registry.register(_RequestsCollector(self))

    def watch(self, outcomes: Callable[[], Counter[str]], gauges: Callable[[], dict[str, float]]) -> None:
        self.registry.register(_CountersCollector(outcomes, gauges))

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests[(method, route, status)] += 1
        series = self.latency.get((method, route))
        if series is None:
            series = self.latency[(method, route)] = _Latency()
        series.buckets[bisect_left(LATENCY_BUCKETS, seconds)] += 1
        series.total += seconds

    def render(self) -> bytes:
        return generate_latest(self.registry)
