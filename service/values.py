"""How a setting's text becomes its value: paths, whole numbers, seconds, sizes,
booleans, time zones, URLs and hosts. Each parser takes the raw text and returns the
value, or raises ValueError with a message that says what was expected; ``config``
adds the flag and the variable."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def path(raw: str) -> Path:
    if not raw.strip():
        raise ValueError("expected a path, got an empty value")
    return Path(raw).expanduser()


def int_range(low: int, high: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        try:
            value = int(raw.strip().replace("_", ""))
        except ValueError:
            raise ValueError(f"expected a whole number, got {raw!r}") from None
        if not low <= value <= high:
            raise ValueError(f"expected a number from {low} to {high}, got {value}")
        return value

    return parse


def seconds(low: float, high: float) -> Callable[[str], float]:
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


def size(raw: str) -> int:
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


def boolean(raw: str) -> bool:
    text = raw.strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"expected true or false, got {raw!r}")


def timezone(raw: str) -> ZoneInfo:
    try:
        return ZoneInfo(raw.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {raw!r} (use an IANA name such as "
                         "UTC or Asia/Shanghai)") from None


# Characters a URL cannot carry raw (RFC 3986): every link is built from the base URL
# by appending, so one of them would reach every feed and page unescaped.
_UNSAFE_IN_URL = re.compile(r'[\x00-\x20\x7f-\x9f"<>\\^`{|}]|%(?![0-9A-Fa-f]{2})')


def base_url(raw: str) -> str:
    return _url(raw.strip().rstrip("/"), raw)


def url_or_empty(raw: str) -> str:
    """An absolute http(s) URL as written (a hub's, say), or empty."""
    return _url(raw.strip(), raw) if raw.strip() else ""


def urls(raw: str) -> tuple[str, ...]:
    """Absolute http(s) URLs as written, separated by commas or spaces; maybe none."""
    return tuple(_url(part, raw) for part in re.split(r"[\s,]+", raw.strip()) if part)


def _url(url: str, raw: str) -> str:
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


def host(raw: str) -> str:
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


def proxy(raw: str) -> str:
    """A trusted proxy as waitress takes it: an IP address, ``*`` for any, or empty."""
    text = raw.strip()
    if text in ("", "*"):
        return text
    try:
        return str(ipaddress.ip_address(text.strip("[]")))
    except ValueError:
        raise ValueError(f"expected an IP address, * or nothing, got {raw!r}") from None


def one_of(*choices: str) -> Callable[[str], str]:
    """One of ``choices``, whatever its case."""
    def parse(raw: str) -> str:
        value = raw.strip().lower()
        if value not in choices:
            raise ValueError(f"expected one of {', '.join(choices)}, got {raw!r}")
        return value
    return parse


def text(raw: str) -> str:
    return raw.strip()


# A BCP 47 tag of the kind news sitemaps and <html lang> carry: an ISO 639 language,
# then optionally an ISO 15924 script and an ISO 3166 region or UN M.49 area (zh-Hant-TW).
_LANGUAGE = re.compile(r"([a-z]{2,3})(?:-([a-z]{4}))?(?:-([a-z]{2}|[0-9]{3}))?", re.I)


def language(raw: str) -> str:
    """A language tag, in its conventional case: ``en``, ``pt-BR``, ``zh-Hant``."""
    match = _LANGUAGE.fullmatch(raw.strip().replace("_", "-"))
    if match is None:
        raise ValueError(f"expected a language code such as en, de or pt-BR, got {raw!r}")
    code, script, region = match.groups()
    return "-".join([code.lower(), *([script.title()] if script else []),
                     *([region.upper()] if region else [])])


# S3's own rules for a bucket name (3-63 lowercase letters, digits, dots and hyphens),
# with the underscore some S3-compatible stores allow.
_BUCKET = re.compile(r"[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]")


def bucket_url(raw: str) -> str:
    """``s3://BUCKET`` or ``s3://BUCKET/PREFIX``, written back without slashes at the
    ends of the prefix; or empty (no bucket)."""
    text = raw.strip()
    if not text:
        return ""
    if not text.startswith("s3://"):
        raise ValueError(f"expected s3://BUCKET or s3://BUCKET/PREFIX, got {raw!r}")
    bucket, _, prefix = text[5:].partition("/")
    if not _BUCKET.fullmatch(bucket) or ".." in bucket:
        raise ValueError(f"expected a bucket name of 3 to 63 lowercase letters, digits, dots "
                         f"and hyphens, got {bucket!r} in {raw!r}")
    parts = prefix.strip("/").split("/") if prefix.strip("/") else []
    if any(part in ("", ".", "..") or _UNSAFE_IN_URL.search(part) for part in parts):
        raise ValueError(f"expected a prefix of plain path segments, got {prefix!r} in {raw!r}")
    return "s3://" + "/".join([bucket, *parts])


def purge_target(raw: str) -> str:
    """What the CDN purge calls: ``cloudfront://DISTRIBUTION``, or a URL template holding
    ``{path}`` or ``{url}``, optionally after an HTTP method (``GET http://...{path}``);
    or empty."""
    text = " ".join(raw.split())
    if not text:
        return ""
    if text.startswith("cloudfront://"):
        if not re.fullmatch(r"cloudfront://[A-Z0-9]{1,64}", text):
            raise ValueError(f"expected cloudfront://DISTRIBUTION_ID, got {raw!r}")
        return text
    method, _, template = text.rpartition(" ")
    if method and not re.fullmatch(r"[A-Z]{1,16}", method):
        raise ValueError(f"expected an HTTP method such as PURGE or GET, got {method!r}")
    if "{path}" not in template and "{url}" not in template:
        raise ValueError(f"expected a URL template with {{path}} or {{url}}, got {raw!r}")
    parts = urlsplit(template.replace("{path}", "/p").replace("{url}", "u"))
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValueError(f"expected an absolute http(s) URL template, got {raw!r}")
    return f"{method or 'PURGE'} {template}"
