"""Prometheus metrics of one web process. The only module that imports prometheus_client.

Two kinds: requests this process answered (a counter, by route and status), and the
publisher's and the hub's numbers, read from feeds/status.json and feeds/websub.json
at scrape time, so the stateless web process reports what the one publisher did
without talking to it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

log = logging.getLogger(__name__)

StatusSource = Callable[[], Mapping[str, Any] | None]

# (metric name, help, key of status.json "last_pass"): one gauge per row.
_PASS_GAUGES = (
    ("seedfeeds_seed_files", "Seed files known to the publisher.", "files"),
    ("seedfeeds_articles", "Articles published (released) by the last publish pass.",
     "articles"),
    ("seedfeeds_tags", "Tags with at least one published article.", "tags"),
    ("seedfeeds_parse_errors", "Seed files that could not be read or parsed.", "errors"),
    ("seedfeeds_embargoed_articles", "Articles withheld until their release time.",
     "embargoed"),
)


class Metrics:
    """A registry of its own per app, so several apps in one process do not collide."""

    def __init__(self, status: StatusSource, hub: StatusSource = lambda: None,
                 mirror: StatusSource = lambda: None) -> None:
        self.registry = CollectorRegistry()
        self._requests = Counter(
            "seedfeeds_http_requests", "HTTP requests answered by this web process.",
            ("route", "status"), registry=self.registry)
        self.registry.register(PublisherCollector(status))
        self.registry.register(ReportCollector(hub, "websub.json", _hub_metrics))
        self.registry.register(ReportCollector(mirror, "mirror.json", _mirror_metrics))
        self._children: dict[tuple[str, int], Any] = {}  # labels() costs more than inc()

    def count(self, route: str, status: int) -> None:
        """Count one answered request; ``route`` is an endpoint name, never a raw path."""
        child = self._children.get((route, status))
        if child is None:
            child = self._children[route, status] = self._requests.labels(route, str(status))
        child.inc()

    def exposition(self) -> tuple[bytes, str]:
        """The text exposition format and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class PublisherCollector(Collector):
    """The publisher's numbers from status.json, read at each scrape."""

    def __init__(self, status: StatusSource) -> None:
        self._status = status

    def collect(self) -> Iterator[Metric]:
        status = self._status()
        yield GaugeMetricFamily("seedfeeds_status_available",
                                "1 if feeds/status.json was readable at this scrape.",
                                value=1 if status else 0)
        if not status:
            return
        try:
            yield GaugeMetricFamily(
                "seedfeeds_publish_failing",
                "1 while publish passes fail (see /status), 0 once one succeeds.",
                value=1 if isinstance(status.get("failing"), dict) else 0)
            yield from _pass_metrics(status.get("last_pass") or {})
            yield from _histogram("seedfeeds_publish_duration_seconds",
                                  "Duration of publish passes.",
                                  status.get("publish_seconds") or {})
        except (AttributeError, TypeError, ValueError) as exc:
            # A malformed file must not break the request counter's scrape.
            log.warning("status.json has unexpected values (%s); publisher metrics skipped",
                        exc)


_HUB_GAUGES = (
    ("seedfeeds_websub_subscriptions", "Active WebSub subscriptions.", "subscriptions"),
    ("seedfeeds_websub_verifications_pending",
     "Subscription requests waiting for their callback to confirm them.",
     "verifications_pending"),
    ("seedfeeds_websub_pushes_pending", "Pushes owed to subscribers, retries included.",
     "pushes_pending"),
    ("seedfeeds_websub_retries_pending", "Pushes that failed and wait to be tried again.",
     "retries_pending"),
)


class ReportCollector(Collector):
    """The numbers of a report another part writes beside status.json (the hub's
    websub.json, the mirror's mirror.json), read at each scrape; none while it is absent
    (no hub runs, no --publish-to)."""

    def __init__(self, source: StatusSource, name: str,
                 metrics: Callable[[Mapping[str, Any]], Iterator[Metric]]) -> None:
        self._source, self._name, self._metrics = source, name, metrics

    def collect(self) -> Iterator[Metric]:
        report = self._source()
        if not report:
            return
        try:
            yield from self._metrics(report)
        except (AttributeError, TypeError, ValueError) as exc:
            log.warning("%s has unexpected values (%s); its metrics skipped", self._name, exc)


def _hub_metrics(hub: Mapping[str, Any]) -> Iterator[Metric]:
    for name, help_text, key in _HUB_GAUGES:
        if isinstance(hub.get(key), int):
            yield GaugeMetricFamily(name, help_text, value=float(hub[key]))
    yield _labelled(GaugeMetricFamily("seedfeeds_websub_feed_subscriptions",
                                       "Active WebSub subscriptions of one feed.",
                                       labels=("feed",)), hub.get("by_feed"))
    yield _labelled(CounterMetricFamily(
        "seedfeeds_websub_events", "What the hub did: pushes delivered, failed (each failed "
        "attempt), given up, ended by 410 (gone); requests verified, unconfirmed, denied.",
        labels=("event",)), hub.get("counts"))
    yield from _histogram("seedfeeds_websub_push_latency_seconds",
                          "From a feed's change seen by the hub to its push delivered.",
                          hub.get("latency_seconds") or {})


def _mirror_metrics(mirror: Mapping[str, Any]) -> Iterator[Metric]:
    yield GaugeMetricFamily("seedfeeds_mirror_in_sync",
                            "1 if the bucket holds what the last pass published.",
                            value=1 if mirror.get("in_sync") is True else 0)
    yield GaugeMetricFamily("seedfeeds_mirror_failing",
                            "1 while uploads to the bucket fail or are refused (see /status).",
                            value=1 if mirror.get("state") in ("failing", "refused") else 0)
    if isinstance(mirror.get("objects"), int):
        yield GaugeMetricFamily("seedfeeds_mirror_objects", "Objects the bucket holds.",
                                value=float(mirror["objects"]))
    yield _labelled(GaugeMetricFamily("seedfeeds_mirror_pending",
                                       "Uploads, deletes and purges still to do.",
                                       labels=("kind",)), mirror.get("pending"))
    yield _labelled(CounterMetricFamily("seedfeeds_mirror_requests",
                                        "Requests made to the object store and the CDN.",
                                        labels=("method",)), mirror.get("requests"))
    yield from _histogram("seedfeeds_mirror_lag_seconds",
                          "From the end of a pass to the bucket holding it.",
                          mirror.get("lag_seconds") or {})


def _labelled(family: GaugeMetricFamily | CounterMetricFamily,
              counts: Mapping[str, Any] | None) -> Metric:
    """``family`` with one sample per entry of ``counts``, by its one label."""
    for label, count in sorted((counts or {}).items()):
        family.add_metric((str(label),), float(count))
    return family


def _pass_metrics(last: Mapping[str, Any]) -> Iterator[Metric]:
    for name, help_text, key in _PASS_GAUGES:
        if last.get(key) is not None:
            yield GaugeMetricFamily(name, help_text, value=float(last[key]))
    if last.get("started"):
        yield GaugeMetricFamily(
            "seedfeeds_last_publish_timestamp_seconds",
            "When the last publish pass started, in Unix seconds.",
            value=datetime.fromisoformat(last["started"]).timestamp())


def _histogram(name: str, help_text: str, data: Mapping[str, Any]) -> Iterator[Metric]:
    """The files keep cumulative buckets keyed by their upper bound, like Prometheus."""
    buckets = data.get("buckets")
    if not buckets:
        return
    rows = sorted((float(bound), int(count)) for bound, count in buckets.items())
    yield HistogramMetricFamily(
        name, help_text, buckets=[(floatToGoString(bound), count) for bound, count in rows],
        sum_value=float(data.get("sum", 0.0)))
