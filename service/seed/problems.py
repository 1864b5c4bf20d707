"""Problems found in seed files: one record type for errors and warnings alike."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """Something wrong in a seed file, located as precisely as the reader knows."""

    path: str
    line: int | None
    message: str
    severity: str = "error"  # "error" or "warning"

    def __str__(self) -> str:
        where = self.path if self.line is None else f"{self.path}:{self.line}"
        return f"{where}: {self.severity}: {self.message}"

    def to_json(self) -> dict[str, object]:
        return {"path": self.path, "line": self.line, "severity": self.severity,
                "message": self.message}


class SeedError(Exception):
    """A seed file cannot be read or parsed; carries the problem that says why."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


def error(path: str, line: int | None, message: str) -> SeedError:
    return SeedError(Problem(path, line, message, "error"))


def warning(path: str, line: int | None, message: str) -> Problem:
    return Problem(path, line, message, "warning")
