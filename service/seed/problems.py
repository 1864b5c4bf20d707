"""Problems found in seed files: one record type for errors and warnings alike."""

from __future__ import annotations

from dataclasses import dataclass


def shown(name: str) -> str:
    """A file name as people read it and JSON carries it: the bytes of a name that are
    not UTF-8 (lone surrogates, once ``os.fsdecode`` has decoded them) as ``\\xNN``."""
    if name.isascii():
        return name
    try:
        raw = name.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a surrogate no file name decodes to
        return name.encode("utf-8", "backslashreplace").decode("utf-8")
    return raw.decode("utf-8", "backslashreplace")


@dataclass(frozen=True)
class Problem:
    """Something wrong in a seed file, located as precisely as the reader knows. Its
    path and message are ``shown``: every problem can be printed and put in JSON."""

    path: str
    line: int | None
    message: str
    severity: str = "error"  # "error" or "warning"

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", shown(self.path))
        object.__setattr__(self, "message", shown(self.message))

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


class UnreadableSeed(SeedError):
    """A seed file that is there but cannot be opened or read (permission, I/O): what
    it holds is unknown, which is not the same as empty."""


def error(path: str, line: int | None, message: str) -> SeedError:
    return SeedError(Problem(path, line, message, "error"))


def warning(path: str, line: int | None, message: str) -> Problem:
    return Problem(path, line, message, "warning")
