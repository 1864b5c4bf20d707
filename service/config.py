"""Settings: one declarative table that is the defaults, the validation and the docs.

Every setting is read once, from a command-line flag or a ``SEEDFEEDS_*``
environment variable (the flag wins), validated at start-up with a message that
names the flag and the variable, and handed around as one frozen ``Settings``.
"""

from __future__ import annotations

import dataclasses
import difflib
import ipaddress
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

ENV_PREFIX = "SEEDFEEDS_"


class StartupError(Exception):
    """Something found at start-up that makes a command unable to run (a path of the
    wrong kind, a lock held by another process, a port in use). The CLI prints the
    message as one line and exits 2: it must say what is wrong and what to do."""


class SettingError(StartupError, ValueError):
    """A setting's value is unusable; the message names the flag and variable."""


def _path(raw: str) -> Path:
    if not raw.strip():
        raise ValueError("expected a path, got an empty value")
    return Path(raw).expanduser()


def _int_range(low: int, high: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        try:
            value = int(raw.strip().replace("_", ""))
        except ValueError:
            raise ValueError(f"expected a whole number, got {raw!r}") from None
        if not low <= value <= high:
            raise ValueError(f"expected a number from {low} to {high}, got {value}")
        return value

    return parse


def _seconds(low: float, high: float) -> Callable[[str], float]:
    def parse(raw: str) -> float:
        text = raw.strip().lower()
        scale = 1.0
        if text.endswith("ms"):
            text, scale = text[:-2], 0.001
        elif text.endswith("s"):
            text = text[:-1]
        try:
            value = float(text) * scale
        except ValueError:
            raise ValueError(f"expected seconds such as 0.2, 200ms or 5s, got {raw!r}") from None
        if not low <= value <= high:
            raise ValueError(f"expected {low} to {high} seconds, got {value:g}")
        return value

    return parse


_SIZE_UNITS = {"": 1, "b": 1, "k": 1024, "kib": 1024, "kb": 1000, "m": 1024**2,
               "mib": 1024**2, "mb": 1000**2, "g": 1024**3, "gib": 1024**3, "gb": 1000**3}
MAX_SIZE = 1024**3  # a seed file is text someone wrote: a gigabyte is already absurd


def _size(raw: str) -> int:
    text = raw.strip().lower().replace(" ", "")
    number = text.rstrip("kmgib")
    unit = text[len(number):]
    try:
        value = int(float(number) * _SIZE_UNITS[unit])
    except (ValueError, KeyError, OverflowError):  # OverflowError: inf
        raise ValueError(f"expected a size such as 10MiB or 500000, got {raw!r}") from None
    if not 1 <= value <= MAX_SIZE:
        raise ValueError(f"expected a size from 1 byte to 1GiB, got {raw!r}")
    return value


def _bool(raw: str) -> bool:
    text = raw.strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"expected true or false, got {raw!r}")


def _timezone(raw: str) -> ZoneInfo:
    try:
        return ZoneInfo(raw.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {raw!r} (use an IANA name such as "
                         "UTC or Asia/Shanghai)") from None


# Characters a URL cannot carry raw (RFC 3986): every link is built from the base URL
# by appending, so one of them would reach every feed and page unescaped.
_UNSAFE_IN_URL = re.compile(r'[\x00-\x20\x7f-\x9f"<>\\^`{|}]|%(?![0-9A-Fa-f]{2})')


def _base_url(raw: str) -> str:
    url = raw.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValueError(f"expected an absolute http(s) URL, got {raw!r}")
    if "?" in url or "#" in url:
        raise ValueError(f"expected a URL without query or fragment, got {raw!r}")
    unsafe = _UNSAFE_IN_URL.search(url)
    if unsafe:
        raise ValueError(f"{unsafe[0]!r} must be percent-encoded in a URL, got {raw!r}")
    try:
        parts.port  # noqa: B018  (urlsplit checks the port only when asked)
    except ValueError:
        raise ValueError(f"expected a port from 0 to 65535 in the URL, got {raw!r}") from None
    return url


_HOST_NAME = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))*\.?")


def _host(raw: str) -> str:
    """An IP address or a host name, written as the resolver reads it: an address with
    a number out of range would otherwise be looked up as a name."""
    text = raw.strip()
    if not text:  # every interface, as waitress reads it
        return text
    try:
        return str(ipaddress.ip_address(text.strip("[]")))
    except ValueError:
        pass
    if re.fullmatch(r"[0-9.]+", text) or not _HOST_NAME.fullmatch(text):
        raise ValueError(f"expected an IP address or a host name, got {raw!r}")
    return text


def _text(raw: str) -> str:
    return raw.strip()


@dataclass(frozen=True)
class Setting:
    """One row of the settings table."""

    name: str
    default: str
    parse: Callable[[str], Any]
    help: str
    metavar: str = "TEXT"
    kind: str = ""  # "folder": a path that must be a folder where it exists

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.name.upper()

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


SETTINGS: tuple[Setting, ...] = (
    Setting("seeds", "seeds", _path,
            "Folder of seed files to publish (subfolders included).", "DIR", "folder"),
    Setting("feeds", "feeds", _path,
            "Output folder: the complete static site of feeds and pages.", "DIR", "folder"),
    Setting("state", ".seedfeeds/state.sqlite", _path,
            "SQLite file that remembers first-seen times, content hashes and slugs "
            "across restarts; keep it outside the feeds folder.", "FILE"),
    Setting("base_url", "http://localhost:8080", _base_url,
            "Public URL of the site; every link in a feed is built from it.", "URL"),
    Setting("host", "127.0.0.1", _host,
            "Address the web server listens on (0.0.0.0 for every interface).", "ADDR"),
    Setting("port", "8080", _int_range(1, 65535), "Port the web server listens on.", "PORT"),
    Setting("timezone", "UTC", _timezone,
            "Time zone of release times written without an offset.", "ZONE"),
    Setting("entries", "50", _int_range(1, 10_000),
            "Newest entries kept in each feed.", "N"),
    Setting("debounce", "0.2", _seconds(0.0, 60.0),
            "Quiet time after a change in seeds/ before a publish pass starts.", "SECONDS"),
    Setting("reconcile", "300", _seconds(1.0, 86_400.0),
            "Period of the full rescan that heals any missed file event.", "SECONDS"),
    Setting("watch", "true", _bool,
            "Publish changes as soon as files change (false: only the periodic reconcile "
            "publishes).", "BOOL"),
    Setting("poll", "false", _bool,
            "Watch seeds/ by polling instead of OS events (network shares, bind mounts).",
            "BOOL"),
    Setting("max_age", "300", _int_range(0, 31_536_000),
            "Cache-Control max-age, in seconds, of served feeds and pages.", "SECONDS"),
    Setting("max_file_size", "10MiB", _size,
            "Largest seed file read; a bigger one is reported as an error.", "SIZE"),
    Setting("site_title", "seedfeeds", _text,
            "Site name, used in feed titles and pages.", "TEXT"),
    Setting("author", "", _text,
            "Feed author name (Atom requires one); empty means the site title.", "TEXT"),
)

BY_NAME: dict[str, Setting] = {s.name: s for s in SETTINGS}
# Folders that must not lie inside one another (nor be one another): a feeds folder in
# the seeds folder is read back as seeds, a pass after every pass, forever; seeds in the
# feeds folder would be published as they are. (The state's place: catalog/statefile.py.)
APART = (("feeds", "seeds"), ("seeds", "feeds"))


@dataclass(frozen=True)
class Settings:
    """Validated settings; build one with ``load_settings``."""

    seeds: Path
    feeds: Path
    state: Path
    base_url: str
    host: str
    port: int
    timezone: ZoneInfo
    entries: int
    debounce: float
    reconcile: float
    watch: bool
    poll: bool
    max_age: int
    max_file_size: int
    site_title: str
    author: str

    @property
    def feed_author(self) -> str:
        return self.author or self.site_title

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)


def load_settings(flags: Mapping[str, str | None] | None = None,
                  environ: Mapping[str, str] | None = None) -> Settings:
    """Settings from flags (by setting name), then the environment, then defaults."""
    flags = flags or {}
    environ = os.environ if environ is None else environ
    unknown = set(flags) - set(BY_NAME)
    if unknown:
        raise SettingError(f"unknown setting(s): {', '.join(sorted(unknown))}")
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        raw, origin = setting.default, "default"
        if environ.get(setting.env) is not None:
            raw, origin = environ[setting.env], setting.env
        if flags.get(setting.name) is not None:
            raw, origin = str(flags[setting.name]), setting.flag
        try:
            values[setting.name] = setting.parse(raw)
        except ValueError as exc:
            raise SettingError(f"{setting.flag} / {setting.env} (from {origin}): {exc}") from None
    return Settings(**values)


def refusal(name: str, message: str) -> SettingError:
    """The error for setting ``name``, naming its flag and variable."""
    return SettingError(f"{BY_NAME[name].flag} / {BY_NAME[name].env}: {message}")


def unknown_variables(environ: Mapping[str, str] | None = None) -> list[str]:
    """A warning for each SEEDFEEDS_* variable that names no setting (a typo is
    otherwise silently a default), with the closest real one."""
    known = [s.env for s in SETTINGS]
    unknown = {n for n in (os.environ if environ is None else environ)
               if n.startswith(ENV_PREFIX) and n not in known}
    warnings = []
    for name in sorted(unknown):
        close = difflib.get_close_matches(name, known, n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        warnings.append(f"warning: {name} names no setting and is ignored{hint}")
    return warnings


def defaults() -> Settings:
    """The embedded defaults, ignoring the environment."""
    return load_settings({}, {})


def markdown_table() -> str:
    """The settings as the README's configuration table (a test keeps them equal)."""
    rows = ["| flag | environment variable | default | meaning |", "|---|---|---|---|"]
    for setting in SETTINGS:
        default = f"`{setting.default}`" if setting.default else "(empty)"
        rows.append(f"| `{setting.flag}` | `{setting.env}` | {default} | {setting.help} |")
    return "\n".join(rows)
