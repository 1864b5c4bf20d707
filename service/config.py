"""Settings: one declarative table that is the defaults, the validation and the docs.

Every setting is read once, from a command-line flag or a ``SEEDFEEDS_*``
environment variable (the flag wins), validated at start-up with a message that
names the flag and the variable, and handed around as one frozen ``Settings``.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from service import values

ENV_PREFIX = "SEEDFEEDS_"


class StartupError(Exception):
    """Something found at start-up that makes a command unable to run (a path of the
    wrong kind, a lock held by another process, a port in use). The CLI prints the
    message as one line and exits 2: it must say what is wrong and what to do."""


class SettingError(StartupError, ValueError):
    """A setting's value is unusable; the message names the flag and variable."""


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
    Setting("seeds", "seeds", values.path,
            "Folder of seed files to publish (subfolders included).", "DIR", "folder"),
    Setting("feeds", "feeds", values.path,
            "Output folder: the complete static site of feeds and pages.", "DIR", "folder"),
    Setting("state", ".seedfeeds/state.sqlite", values.path,
            "SQLite file that remembers first-seen times, content hashes and slugs "
            "across restarts; keep it outside the feeds folder.", "FILE"),
    Setting("base_url", "http://localhost:8080", values.base_url,
            "Public URL of the site; every link in a feed is built from it.", "URL"),
    Setting("host", "127.0.0.1", values.host,
            "Address the web server listens on (0.0.0.0 for every interface).", "ADDR"),
    Setting("port", "8080", values.int_range(1, 65535),
            "Port the web server listens on.", "PORT"),
    Setting("websub_port", "8081", values.int_range(1, 65535),
            "Port the WebSub hub listens on in `publish` (on --host), for a proxy to route "
            "/websub to; `serve` answers /websub on --port.", "PORT"),
    Setting("timezone", "UTC", values.timezone,
            "Time zone of release times written without an offset.", "ZONE"),
    Setting("entries", "50", values.int_range(1, 10_000),
            "Entries in each feed's subscription document: its newest arrivals.", "N"),
    Setting("archive_size", "25", values.int_range(1, 10_000),
            "Entries in each frozen archive document (RFC 5005), oldest arrivals first; "
            "taken as --entries if larger. The subscription document holds the arrivals "
            "since the newest archive: more than --entries minus this, at most --entries.",
            "N"),
    Setting("debounce", "0.2", values.seconds(0.0, 60.0),
            "Quiet time after a change in seeds/ that may still be going on (a file being "
            "written, a folder) before a publish pass; a file closed after writing or "
            "moved into place is published at once.", "SECONDS"),
    Setting("reconcile", "300", values.seconds(1.0, 86_400.0),
            "Period of the full rescan that heals any missed file event.", "SECONDS"),
    Setting("watch", "true", values.boolean,
            "Publish changes as soon as files change (false: only the periodic reconcile "
            "publishes).", "BOOL"),
    Setting("poll", "false", values.boolean,
            "Watch seeds/ by polling instead of OS events (network shares, bind mounts).",
            "BOOL"),
    Setting("max_age", "300", values.int_range(0, 31_536_000),
            "Cache-Control max-age, in seconds, of served feeds and pages.", "SECONDS"),
    Setting("max_file_size", "10MiB", values.size,
            "Largest seed file read; a bigger one is reported as an error.", "SIZE"),
    Setting("site_title", "seedfeeds", values.text,
            "Site name, used in feed titles and pages.", "TEXT"),
    Setting("language", "en", values.language,
            "Language of the articles (BCP 47: en, de, pt-BR), as the news sitemap "
            "declares it to search engines.", "LANG"),
    Setting("author", "", values.text,
            "Feed author name (Atom requires one); empty means the site title.", "TEXT"),
    Setting("websub", "true", values.boolean,
            "Run the WebSub hub at /websub in `serve` (in `publish`, on --websub-port) and "
            "name it in every feed: readers subscribe there to any feed of the site, and "
            "each subscription is verified with its callback.", "BOOL"),
    Setting("websub_allow_private", "false", values.boolean,
            "Let the hub call back loopback, private, link-local and other non-global "
            "addresses (tests, a LAN); by default such a callback is refused unasked.", "BOOL"),
    Setting("websub_lease", "864000", values.int_range(1, 31_536_000),
            "Lease, in seconds, of a subscription that asks for none (864000: 10 days).",
            "SECONDS"),
    Setting("websub_lease_min", "86400", values.int_range(1, 31_536_000),
            "Shortest lease the hub grants, in seconds; shorter requests get this.", "SECONDS"),
    Setting("websub_lease_max", "2592000", values.int_range(1, 31_536_000),
            "Longest lease the hub grants, in seconds (2592000: 30 days).", "SECONDS"),
    Setting("websub_url", "", values.url_or_empty,
            "Public URL of the hub, for a proxy or CDN in front of it; empty: the base URL "
            "and /websub.", "URL"),
    Setting("websub_external_hubs", "", values.urls,
            "Other WebSub hubs to advertise and ping as well, separated by commas.", "URLS"),
    Setting("websub_signature", "sha256", values.one_of("sha1", "sha256", "sha384", "sha512"),
            "The HMAC of X-Hub-Signature on pushes to subscribers that gave a secret "
            "(sha1 only for old subscribers that know no other).", "HASH"),
    Setting("websub_client_rate", "1200", values.int_range(1, 1_000_000),
            "Subscription requests a minute the hub takes from one client address, in "
            "bursts of up to a minute's worth (a reader importing the OPML of 600 feeds "
            "gets them all); more are answered 429 with Retry-After.", "COUNT"),
    Setting("websub_host_rate", "1200", values.int_range(1, 1_000_000),
            "Subscription requests a minute the hub takes naming callbacks on one host, "
            "from any client; more are answered 429 with Retry-After.", "COUNT"),
    Setting("websub_host_subscriptions", "10000", values.int_range(1, 100_000_000),
            "Most subscriptions (held or being verified) for callbacks on one host.", "COUNT"),
    Setting("websub_subscriptions", "100000", values.int_range(1, 100_000_000),
            "Most subscriptions (held or being verified) the hub holds in all.", "COUNT"),
    Setting("trusted_proxy", "", values.proxy,
            "Address of the reverse proxy in front (`*`: any peer), whose last "
            "X-Forwarded-For hop then names the client, for the logs and the hub's rate "
            "limits; empty: the peer is the client (else any client could name any "
            "address).", "ADDRESS"),
    Setting("publish_to", "", values.bucket_url,
            "Mirror what the web serves into this bucket after every pass: s3://BUCKET or "
            "s3://BUCKET/PREFIX. Endpoint, credentials and region come from the standard "
            "AWS variables (AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, "
            "AWS_REGION or AWS_DEFAULT_REGION, AWS_PROFILE); empty: no bucket.", "S3URL"),
    Setting("publish_max_deletes", "256", values.int_range(0, 100_000_000),
            "Most objects one pass may delete from the bucket; a pass that would delete more "
            "deletes none and fails loudly until told (raise it for one run: `seedfeeds "
            "sync --publish-max-deletes N`).", "COUNT"),
    Setting("publish_workers", "16", values.int_range(1, 256),
            "Uploads to the bucket at once.", "COUNT"),
    Setting("publish_timeout", "300", values.seconds(1.0, 86_400.0),
            "How long `build` and `sync` retry a bucket that fails before they give up and "
            "exit 1 (live publishing retries until it succeeds).", "SECONDS"),
    Setting("cdn_purge", "", values.purge_target,
            "CDN to invalidate after each pass, exactly the changed URLs: "
            "cloudfront://DISTRIBUTION_ID, or a purge URL template with {path} or {url}, "
            "after an optional method (default PURGE): `GET http://cache/purge{path}`.",
            "TARGET"),
    Setting("cdn_purge_max_paths", "100", values.int_range(1, 3000),
            "Changed URLs above which one purge of the whole site (its path and /*) is sent "
            "instead of one per URL.", "COUNT"),
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
    websub_port: int
    timezone: ZoneInfo
    entries: int
    archive_size: int
    debounce: float
    reconcile: float
    watch: bool
    poll: bool
    max_age: int
    max_file_size: int
    site_title: str
    language: str
    author: str
    websub: bool
    websub_allow_private: bool
    websub_lease: int
    websub_lease_min: int
    websub_lease_max: int
    websub_url: str
    websub_external_hubs: tuple[str, ...]
    websub_signature: str
    websub_client_rate: int
    websub_host_rate: int
    websub_host_subscriptions: int
    websub_subscriptions: int
    trusted_proxy: str
    publish_to: str
    publish_max_deletes: int
    publish_workers: int
    publish_timeout: float
    cdn_purge: str
    cdn_purge_max_paths: int

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
    parsed: dict[str, Any] = {}
    for setting in SETTINGS:
        raw, origin = setting.default, "default"
        if environ.get(setting.env) is not None:
            raw, origin = environ[setting.env], setting.env
        if flags.get(setting.name) is not None:
            raw, origin = str(flags[setting.name]), setting.flag
        try:
            parsed[setting.name] = setting.parse(raw)
        except ValueError as exc:
            raise SettingError(f"{setting.flag} / {setting.env} (from {origin}): {exc}") from None
    return Settings(**parsed)


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
    if unknown:
        import difflib  # only for a typo: every command asks, few have one
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
