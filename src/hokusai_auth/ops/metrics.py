"""Prometheus metrics, one registry per app (tests build many apps in one process).

Request metrics are recorded by the envelope middleware with the route *template* as label (never the raw path:
key ids would explode the series count). Validation outcomes are counted by the validator in a plain Counter
and read at scrape time, so the hot path pays a dict increment, not a Prometheus call.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client import Counter as PromCounter
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


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
        self._requests = PromCounter(
            "hokusai_http_requests",
            "HTTP requests by method, route and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self._latency = Histogram(
            "hokusai_http_request_duration_seconds",
            "HTTP request latency by method and route",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self._children: dict[tuple[str, str, int], tuple[object, object]] = {}

    def watch(self, outcomes: Callable[[], Counter[str]], gauges: Callable[[], dict[str, float]]) -> None:
        self.registry.register(_CountersCollector(outcomes, gauges))

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        children = self._children.get(key)
        if children is None:  # labels() is slow-ish; resolve each series once
            children = (self._requests.labels(method, route, str(status)), self._latency.labels(method, route))
            self._children[key] = children
        children[0].inc()  # type: ignore[attr-defined]
        children[1].observe(seconds)  # type: ignore[attr-defined]

    def render(self) -> bytes:
        return generate_latest(self.registry)
