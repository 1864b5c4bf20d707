"""The ``seedfeeds`` command: every setting is a flag, generated from the settings table."""

from __future__ import annotations

import logging
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from service.config import BY_NAME, Settings, StartupError, load_settings, unknown_variables
from service.publish.status import PassFailed
from service.run import Stopped, publishing, run_publisher, run_server, run_web_only
from service.seed import report as checkreport
from service.seed.folder import require_folder


def setting_options(*names: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Add one ``--flag`` per named setting, its help taken from the settings table."""
    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        for name in reversed(names):
            setting = BY_NAME[name]
            command = click.option(
                setting.flag, name, metavar=setting.metavar, default=None,
                help=f"{setting.help} [env {setting.env}; default: "
                     f"{setting.default or 'empty'}]")(command)
        return command
    return decorate


def settings_from(flags: dict[str, Any]) -> Settings:
    """Validate flags and environment once (a bad value is a SettingError naming both);
    warn of each SEEDFEEDS_* variable that names no setting."""
    for warning in unknown_variables():
        click.echo(warning, err=True)
    return load_settings({k: v for k, v in flags.items() if k in BY_NAME})


class _Commands(click.Group):
    """Every command's start-up refusal is one line and exit 2, never a traceback; a
    stop signal that cut a command short exits 128 + its number, as the shell says."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except StartupError as exc:
            click.echo(f"Error: {' '.join(str(exc).split())}", err=True)
            ctx.exit(2)
        except Stopped as stop:
            ctx.exit(128 + stop.signum)


@click.group(cls=_Commands,
             context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="seedfeeds")
def main() -> None:
    """seedfeeds: publish plain-text news files as Atom, RSS and JSON feeds, one per tag.

    Drop seed files into the seeds folder; every tag gets its feeds, and readers
    subscribe to a tag, to everything, or to every tag at once (OPML).
    """


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array of articles.")
@setting_options("timezone", "max_file_size")
def check(paths: tuple[Path, ...], as_json: bool, **flags: Any) -> None:
    """Show what the seed files at PATHS would publish (folders are searched).

    Prints a table of every article (line, release time, paragraphs, id,
    headline, tags), or with --json an array of objects with the keys file,
    line, id, title, tags, published, paragraphs and summary. Problems go to
    standard error as PATH:LINE: error|warning: REASON. Exits 1 if any file
    cannot be read or parsed, 0 otherwise.
    """
    settings = settings_from(flags)
    files, listed = checkreport.expand(paths)
    results, errors = checkreport.read_all(files, settings.timezone,
                                                settings.max_file_size)
    errors += [problem for problem in listed if problem.severity == "error"]
    for seed in results:
        for problem in seed.warnings:
            click.echo(str(problem), err=True)
    for problem in [*errors, *(p for p in listed if p.severity != "error")]:
        click.echo(str(problem), err=True)
    if as_json:
        click.echo(checkreport.as_json(results))
    else:
        width = shutil.get_terminal_size((120, 24)).columns
        click.echo(checkreport.as_table(results, width))
        click.echo(checkreport.summary_line(results, errors))
    sys.exit(1 if errors else 0)


# What the feeds say of the WebSub hubs: every command that writes or serves feeds takes it.
ADVERTISED = ("websub", "websub_url", "websub_external_hubs")
# The bucket mirror (--publish-to), for every command that publishes, and `sync`.
BUCKET = ("publish_to", "publish_max_deletes", "publish_workers", "publish_timeout",
          "cdn_purge", "cdn_purge_max_paths")


@main.command()
@setting_options("seeds", "feeds", "state", "base_url", "timezone", "entries", "archive_size",
                 "max_file_size", "site_title", "language", "author", *ADVERTISED, "max_age",
                 *BUCKET)
def build(**flags: Any) -> None:
    """Build the whole site into the feeds folder once, then exit.

    Reads every seed file, writes every feed, page and the manifest, rewriting
    only files whose bytes changed; with --publish-to, then brings the bucket to
    match. Shows a progress bar on a terminal and ends with a one-line summary.
    Exits 1 if any seed file has an error (the other files are published all the
    same) or the bucket does not match at the end, 2 if another publisher holds
    the feeds folder, the state or the bucket prefix, 128 + the signal's number if
    a signal stopped it.
    """
    settings = settings_from(flags)
    require_folder(settings.seeds)
    configure_logging(quiet=True)
    with publishing(settings):
        _build(settings)


def _build(settings: Settings) -> None:
    """The build itself, run while this process holds the feeds folder and the state;
    then, with --publish-to, the bucket brought to match it."""
    from service.mirror import running as mirror  # with the publisher: `check` needs neither

    with mirror.stopped_after(mirror.checked(settings)) as bucket:
        publisher = mirror.publisher_for(settings, bucket)
        try:
            with _ProgressBar() as progress:
                report = publisher.publish(None, progress=progress)
        except PassFailed as exc:
            click.echo(f"seedfeeds build: the publish pass failed: {exc}; {settings.feeds} is "
                       "as it was before", err=True)
            sys.exit(1)
        finally:
            publisher.close()
        errors, _warnings = publisher.problems()
        for problem in errors:
            click.echo(str(problem), err=True)
        click.echo(f"built {settings.feeds}: {report.files} files, {report.articles} articles, "
                   f"{report.tags} tags, {report.errors} errors, {report.embargoed} embargoed; "
                   f"wrote {report.files_written}, unchanged {report.files_unchanged}, "
                   f"removed {report.files_removed}; {report.seconds:.1f} s")
        mirrored = bucket is None or mirror.finish(bucket, _echo_outcome)
    sys.exit(1 if errors or not mirrored else 0)


def _echo_outcome(line: str, ok: bool) -> None:
    click.echo(line, err=not ok)


class _ProgressBar:
    """A progress bar per stage on a terminal; silent when output is not a terminal."""

    def __init__(self) -> None:
        self.bar: Any = None
        self.stage = ""
        self.enabled = sys.stderr.isatty()

    def __enter__(self) -> _ProgressBar:
        return self

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        if stage != self.stage:
            self._close()
            self.stage = stage
            label = {"read": "reading seeds  ", "render": "rendering pages"}.get(stage, stage)
            self.bar = click.progressbar(length=total, label=label, file=sys.stderr,
                                         show_pos=True)
            self.bar.__enter__()
            self.done = 0
        self.bar.update(done - self.done)
        self.done = done

    def _close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None

    def __exit__(self, *_: object) -> None:
        self._close()


def configure_logging(quiet: bool = False) -> None:
    """Log lines with time and level to stderr; quiet keeps only warnings."""
    logging.basicConfig(level=logging.WARNING if quiet else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # APScheduler logs every job it adds and runs at INFO: our passes say what matters.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("botocore").setLevel(logging.WARNING)  # "Found credentials in ..."


@main.command()
@setting_options("feeds", "base_url", "host", "port", "trusted_proxy", "max_age", "site_title",
                 "author", *ADVERTISED)
def web(**flags: Any) -> None:
    """Serve the feeds folder over HTTP, and nothing else (no publisher).

    Any number of these can serve the same folder that one `seedfeeds publish`
    writes, behind nginx or a load balancer. Stops cleanly on SIGTERM, SIGHUP or
    Ctrl-C.
    """
    settings = settings_from(flags)
    configure_logging()
    run_web_only(settings)


PUBLISHER_SETTINGS = ("seeds", "feeds", "state", "base_url", "timezone", "entries",
                      "archive_size", "debounce", "reconcile", "watch", "poll",
                      "max_file_size", "site_title", "language", "author")
HUB_SETTINGS = ("websub", "websub_allow_private", "websub_lease", "websub_lease_min",
                "websub_lease_max", "websub_url", "websub_external_hubs", "websub_signature",
                "websub_client_rate",
                "websub_host_rate", "websub_host_subscriptions", "websub_subscriptions")


@main.command()
@setting_options(*PUBLISHER_SETTINGS, "host", "websub_port", "trusted_proxy", *HUB_SETTINGS,
                 "max_age", *BUCKET)
def publish(**flags: Any) -> None:
    """Build once, then publish every change in the seeds folder (no web server).

    Watches the seeds folder and runs a publish pass a moment after files change
    (the debounce), rescans the whole folder periodically (the reconcile), and
    publishes embargoed articles at their release time. Run exactly one per
    feeds folder (a second one exits 2); serve the folder with `seedfeeds web` or
    nginx. The WebSub hub runs here, as it needs the state: it answers /websub on
    --host and --websub-port (route /websub there; the web processes stay
    stateless). SIGTERM, SIGHUP and Ctrl-C finish the pass in flight and exit;
    during the first build they abandon it (exit 128 + the signal's number).
    """
    settings = settings_from(flags)
    configure_logging()
    run_publisher(settings)


@main.command()
@setting_options(*PUBLISHER_SETTINGS, "host", "port", "trusted_proxy", "max_age", *HUB_SETTINGS,
                 *BUCKET)
def serve(**flags: Any) -> None:
    """Everything in one command: build, publish every change, serve the feeds.

    Builds the site, then watches the seeds folder and publishes changes as they
    happen (see `seedfeeds publish`), while serving the feeds folder over HTTP on
    a production server (see `seedfeeds web`). The scheduler and the watcher run
    exactly once, in this process. A restart serves the site already published at
    once, while its first pass rebuilds it. SIGTERM, SIGHUP and Ctrl-C finish the
    pass in flight and exit; during the first build they abandon it (exit 128 + the
    signal's number).
    """
    settings = settings_from(flags)
    configure_logging()
    run_server(settings)


@main.command()
@click.option("--dry-run", is_flag=True, help="Print what would be uploaded and deleted, "
              "one line each, and a summary; change nothing.")
@setting_options("feeds", "base_url", "max_age", *BUCKET)
def sync(dry_run: bool, **flags: Any) -> None:
    """Compare the feeds folder with the bucket of --publish-to once, and repair it.

    Lists the bucket and its record, reads every published file, uploads what
    differs (bytes or headers), deletes what is not published, then checks the
    bucket with a listing. Exits 0 if the bucket matches, 1 if it does not at the
    end (the store failing for --publish-timeout, the delete guard), 2 if another
    publisher holds the feeds folder or the prefix.
    """
    from service.mirror import running as mirror
    settings = settings_from(flags)
    configure_logging(quiet=True)
    sys.exit(mirror.sync(settings, dry_run, _echo_outcome))


@main.command()
@setting_options("host", "port")
def healthcheck(**flags: Any) -> None:
    """Exit 0 if the web server on HOST:PORT answers /healthz, 1 if not (for Docker)."""
    import urllib.request  # 20 ms that only this command needs
    settings = settings_from(flags)
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host
    url = f"http://{host}:{settings.port}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            healthy = response.status == 200
    except OSError as exc:
        click.echo(f"unhealthy: {url}: {exc}", err=True)
        sys.exit(1)
    click.echo(f"{'healthy' if healthy else 'unhealthy'}: {url}")
    sys.exit(0 if healthy else 1)

