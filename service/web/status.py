"""What /status tells: counts, problems with path and line, the last publish and the
history of passes, read from the status.json the publisher writes.

Everything is taken defensively: the file is another process's output, and a web
process must answer whatever it finds there.
"""

from __future__ import annotations

from typing import Any


def status_summary(raw: dict[str, Any]) -> dict[str, Any]:
    """/status: "ok" or "degraded" (passes failing, since when and why), counts, errors
    with path and line, and the last publish that succeeded, from status.json."""
    last_pass, rows = raw.get("last_pass"), raw.get("history")
    last: dict[str, Any] = last_pass if isinstance(last_pass, dict) else {}
    history: list[Any] = rows if isinstance(rows, list) else []
    failing = failing_passes(raw)
    return {
        "state": "ok" if failing is None else "degraded",
        "failing": failing,
        **{key: last.get(key) for key in ("files", "articles", "tags", "embargoed")},
        "errors": _problems(raw.get("errors")),
        "warnings": _problems(raw.get("warnings")),
        "last_publish": {key: last.get(key) for key in (
            "started", "seconds", "cold", "files_read", "articles_changed", "files_written",
            "files_removed")},
        "next_release": last.get("next_release"),
        "history": [row for row in history if isinstance(row, dict)],
    }


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
