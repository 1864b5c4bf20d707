"""What /status tells: counts, problems with path and line, the last publish and the
history of passes, read from the status.json the publisher writes.

Everything is taken defensively: the file is another process's output, and a web
process must answer whatever it finds there.
"""

from __future__ import annotations

from typing import Any


def status_summary(raw: dict[str, Any]) -> dict[str, Any]:
    """/status: counts, errors with path and line, and the last publish, from status.json."""
    last_pass, rows = raw.get("last_pass"), raw.get("history")
    last: dict[str, Any] = last_pass if isinstance(last_pass, dict) else {}
    history: list[Any] = rows if isinstance(rows, list) else []
    return {
        **{key: last.get(key) for key in ("files", "articles", "tags", "embargoed")},
        "errors": _problems(raw.get("errors")),
        "warnings": _problems(raw.get("warnings")),
        "last_publish": {key: last.get(key) for key in (
            "started", "seconds", "cold", "files_read", "articles_changed", "files_written",
            "files_removed")},
        "next_release": last.get("next_release"),
        "history": [row for row in history if isinstance(row, dict)],
    }


def _problems(rows: object) -> list[dict[str, Any]]:
    if not isinstance(rows, list):
        return []
    return [{key: row.get(key) for key in ("path", "line", "severity", "message")}
            for row in rows if isinstance(row, dict)]
