"""What /status tells: counts, problems with path and line, the last publish and the
history of passes, read from the status.json the publisher writes; and the WebSub
hub's figures, from the websub.json the hub writes beside it.

Everything is taken defensively: the file is another process's output, and a web
process must answer whatever it finds there.
"""

from __future__ import annotations

from typing import Any


def status_summary(raw: dict[str, Any], hub: object = None,
                   mirror: object = None) -> dict[str, Any]:
    """/status: "ok" or "degraded" (passes failing, or the bucket mirror failing: since
    when and why), counts, errors with path and line, and the last publish that
    succeeded, from status.json; the hub's figures from websub.json and the mirror's
    from mirror.json (None where they do not run)."""
    last_pass, rows = raw.get("last_pass"), raw.get("history")
    last: dict[str, Any] = last_pass if isinstance(last_pass, dict) else {}
    history: list[Any] = rows if isinstance(rows, list) else []
    failing = failing_passes(raw)
    bucket = mirror_summary(mirror)
    return {
        "state": "ok" if failing is None and (bucket is None or bucket["state"] not in (
            "failing", "refused")) else "degraded",
        "failing": failing,
        **{key: last.get(key) for key in ("files", "articles", "tags", "embargoed")},
        "errors": _problems(raw.get("errors")),
        "warnings": _problems(raw.get("warnings")),
        "last_publish": {key: last.get(key) for key in (
            "started", "seconds", "cold", "files_read", "articles_changed", "files_written",
            "files_removed")},
        "next_release": last.get("next_release"),
        "history": [row for row in history if isinstance(row, dict)],
        "websub": hub_summary(hub),
        "mirror": bucket,
    }


MIRROR_STATES = ("ok", "syncing", "failing", "refused", "stopped")


def mirror_summary(raw: object) -> dict[str, Any] | None:
    """mirror.json's figures: where it mirrors to, its state (ok, syncing, failing,
    refused: a person must act, stopped), whether the bucket holds the last pass, what
    waits, the last sync, and the failure (since, attempts, error, next retry)."""
    if not isinstance(raw, dict):
        return None
    pending, last = raw.get("pending"), raw.get("last_sync")
    state = raw.get("state")
    return {
        "target": _text(raw.get("target")),
        "state": state if state in MIRROR_STATES else None,
        "in_sync": raw.get("in_sync") if isinstance(raw.get("in_sync"), bool) else None,
        "objects": _whole(raw.get("objects")),
        "pending": {key: _whole(pending.get(key)) for key in ("uploads", "deletes", "purges")}
        if isinstance(pending, dict) else None,
        "last_sync": {key: last.get(key) for key in (
            "finished", "seconds", "uploaded", "deleted", "unchanged", "bytes", "purged")}
        if isinstance(last, dict) else None,
        "failing": failing_passes(raw),
    }


HUB_NUMBERS = ("subscriptions", "verifications_pending", "pushes_pending", "retries_pending")


def hub_summary(raw: object) -> dict[str, Any] | None:
    """websub.json's figures, each of the expected type or None: subscriptions (in all
    and by feed file), what waits, the counts since the hub's first start, the push
    latency's histogram, and one row a minute for the last hour."""
    if not isinstance(raw, dict):
        return None
    by_feed, counts, minutes = raw.get("by_feed"), raw.get("counts"), raw.get("minutes")
    return {
        "updated": _text(raw.get("updated")),
        **{key: _whole(raw.get(key)) for key in HUB_NUMBERS},
        "by_feed": {str(k): v for k, v in by_feed.items() if _whole(v) is not None}
        if isinstance(by_feed, dict) else {},
        "counts": {str(k): v for k, v in counts.items() if _whole(v) is not None}
        if isinstance(counts, dict) else {},
        "latency_seconds": raw.get("latency_seconds")
        if isinstance(raw.get("latency_seconds"), dict) else None,
        "minutes": [row for row in minutes if isinstance(row, dict)]
        if isinstance(minutes, list) else [],
    }


def _whole(value: object) -> int | None:
    return value if type(value) is int and value >= 0 else None


def failing_passes(raw: dict[str, Any]) -> dict[str, Any] | None:
    """status.json's "failing": since (ISO time of the first failed attempt), attempts,
    error (one line) and next_retry; None while passes succeed."""
    failing = raw.get("failing")
    if not isinstance(failing, dict):
        return None
    attempts = failing.get("attempts")
    return {**{key: _text(failing.get(key)) for key in ("since", "error", "next_retry")},
            "attempts": attempts if type(attempts) is int else None}


def _text(value: object) -> str | None:
    return " ".join(value.split()) if isinstance(value, str) else None


def _problems(rows: object) -> list[dict[str, Any]]:
    if not isinstance(rows, list):
        return []
    return [{key: row.get(key) for key in ("path", "line", "severity", "message")}
            for row in rows if isinstance(row, dict)]
