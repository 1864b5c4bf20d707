"""The layout as a specification: each library has one owner, stages import only what
comes before them, and the web knows nothing of seeds, the catalog or the publisher."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SERVICE = ROOT / "service"

# Every library seedfeeds imports that is not Python's own, and the one module allowed
# to import it (sqlite3 is Python's own, but a database is a boundary too: one module
# per database file, the state's and the hub's).
OWNERS = {
    "feedgen": "render/atom_rss.py",
    "jinja2": "render/pages.py",
    "markdown_it": "seed/markdown.py",
    "charset_normalizer": "seed/decoding.py",
    "yaml": "seed/frontmatter.py",
    "sqlite3": ("catalog/state.py", "push/store.py"),
    "watchdog": "live/watcher.py",
    "apscheduler": "live/scheduler.py",
    "flask": "web/app.py",
    "werkzeug": "web/http.py",
    "prometheus_client": "web/metrics.py",
    "waitress": "web/server.py",
    "click": "cli.py",
    "boto3": "mirror/aws.py",
    "botocore": "mirror/aws.py",
    "isal": "publish/atomic.py",
}
# The pipeline's stages in order: each may import the core and the stages before it.
STAGES = ("seed", "catalog", "render", "publish", "mirror", "push", "live", "web")
CORE = ("config.py", "values.py", "model.py", "identity.py", "layout.py")
# The exceptions: the markup language an article is written in, which the pages render
# (a leaf module: the seed reader itself stays out).
WEB_MAY_LOAD = ("service.seed", "service.seed.markdown")
# What importing the web side must not load: it serves whatever one publisher wrote.
NOT_IN_WEB = ("feedgen", "watchdog", "apscheduler", "sqlite3", "boto3", "botocore",
              "service.seed", "service.catalog", "service.publish", "service.mirror",
              "service.push", "service.live")

# What `seedfeeds check` and `build` of plain-text dump files must not load: what other
# commands run (the web, the scheduler, the watcher, the hub, the bucket), what only
# other seed files need (front matter, Markdown, legacy encodings), the references the
# tests hold the feeds and pages to (feedgen, the Jinja templates), and the process pool
# of a large build. Each costs every build its import time, 10 to 60 ms.
NOT_IN_BUILD = ("flask", "werkzeug", "waitress", "prometheus_client", "apscheduler",
                "watchdog", "boto3", "botocore", "yaml", "markdown_it", "charset_normalizer",
                "feedgen", "lxml", "jinja2", "multiprocessing", "concurrent.futures.process",
                "urllib.request", "service.web", "service.live", "service.push",
                "service.mirror.mirror", "service.mirror.plan")
NOT_IN_CHECK = (*NOT_IN_BUILD, "service.render", "service.publish.publisher",
                "service.mirror")
PLAIN_SEEDS = ("dump_doubled_headers.txt", "release_time_forms.txt", "page_furniture.txt")


def modules() -> list[Path]:
    return sorted(SERVICE.rglob("*.py"))


def name_of(path: Path) -> str:
    return path.relative_to(SERVICE).as_posix()


def imports(path: Path) -> set[str]:
    """Every module ``path`` imports, anywhere in it (lazy imports count), absolute."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            assert node.level == 0, f"{name_of(path)}: relative import of {node.module}"
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def stage_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "service" and parts[1] in STAGES else None


@pytest.mark.parametrize(("library", "owner"), OWNERS.items())
def test_each_library_is_imported_by_its_owner_alone(library: str,
                                                     owner: str | tuple[str, ...]) -> None:
    importers = [name_of(p) for p in modules()
                 if library in {m.split(".")[0] for m in imports(p)}]
    assert importers == sorted((owner,) if isinstance(owner, str) else owner)


def test_every_library_has_an_owner() -> None:
    roots = {m.split(".")[0] for p in modules() for m in imports(p)}
    others = roots - set(sys.stdlib_module_names) - {"service", "__future__"}
    assert others <= OWNERS.keys(), f"no owner in OWNERS for {sorted(others - OWNERS.keys())}"


@pytest.mark.parametrize("path", modules(), ids=name_of)
def test_a_stage_imports_only_the_core_and_earlier_stages(path: Path) -> None:
    here = name_of(path).split("/")[0]
    if here not in STAGES:
        return
    later = {s for s in STAGES if STAGES.index(s) > STAGES.index(here)}
    assert not {m for m in imports(path) if stage_of(m) in later}


@pytest.mark.parametrize("core", CORE)
def test_the_core_imports_no_stage(core: str) -> None:
    assert not {m for m in imports(SERVICE / core) if stage_of(m) or m == "service.cli"}


def test_the_web_imports_nothing_of_seeds_catalog_publisher_mirror_hub_or_live() -> None:
    for path in (SERVICE / "web").glob("*.py"):
        assert not {m for m in imports(path) if stage_of(m) in (
            "seed", "catalog", "publish", "mirror", "push", "live")}, name_of(path)


def test_the_web_app_loads_no_feed_library_watcher_scheduler_or_state() -> None:
    code = ("import sys, service.web.app, service.web.server; "
            "print(' '.join(sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, cwd=ROOT).stdout.split()
    assert "flask" in loaded  # the probe works
    assert not [m for m in loaded if m.startswith(NOT_IN_WEB) and m not in WEB_MAY_LOAD]


def command_loads(arguments: list[str]) -> list[str]:
    """The modules loaded once ``seedfeeds ARGUMENTS`` has run, in a fresh interpreter."""
    code = ("import sys\nfrom service.cli import main\ntry:\n    main(sys.argv[1:])\n"
            "except SystemExit as done:\n    assert not done.code, done.code\n"
            "print(' '.join(sys.modules))")
    return subprocess.run([sys.executable, "-c", code, *arguments], capture_output=True,
                          text=True, check=True, cwd=ROOT).stdout.split()


@pytest.fixture
def plain_seeds(tmp_path: Path) -> Path:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    for name in PLAIN_SEEDS:
        shutil.copyfile(ROOT / "tests" / "data" / "seeds" / name, seeds / name)
    return seeds


def test_a_build_of_plain_text_seeds_loads_only_what_it_uses(plain_seeds: Path) -> None:
    feeds = plain_seeds.parent / "feeds"
    loaded = command_loads(["build", "--seeds", str(plain_seeds), "--feeds", str(feeds),
                            "--state", str(plain_seeds.parent / "state.sqlite")])
    assert (feeds / "all.atom").is_file() and "service.publish.publisher" in loaded
    assert [m for m in loaded if m.startswith(NOT_IN_BUILD)] == []


def test_a_check_of_plain_text_seeds_loads_only_the_seed_reader(plain_seeds: Path) -> None:
    loaded = command_loads(["check", str(plain_seeds)])
    assert "service.seed.read" in loaded
    assert [m for m in loaded if m.startswith(NOT_IN_CHECK)] == []


def test_the_top_holds_the_core_and_the_cli_only() -> None:
    top = sorted(p.name for p in SERVICE.glob("*.py"))
    assert len(top) <= 10, top
    packages = sorted(p.name for p in SERVICE.iterdir() if (p / "__init__.py").is_file())
    assert packages == sorted(STAGES)


@pytest.mark.parametrize("path", sorted(SERVICE.rglob("__init__.py")), ids=name_of)
def test_a_package_init_holds_a_docstring_and_nothing_else(path: Path) -> None:
    body = ast.parse(path.read_text(encoding="utf-8")).body
    assert len(body) == 1 and isinstance(body[0], ast.Expr)
    assert isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str)


@pytest.mark.parametrize("path", modules(), ids=name_of)
def test_no_module_is_over_300_lines(path: Path) -> None:
    assert len(path.read_text(encoding="utf-8").splitlines()) <= 300


def test_every_package_is_named_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    how = readme.split("## How it works", 1)[1].split("\n## ", 1)[0]
    for package in STAGES:
        assert f"`service/{package}/`" in how, package


def test_every_type_ignore_says_why() -> None:
    """A ``type: ignore`` is explained on its line or the line above it."""
    unexplained = []
    for path in modules():
        lines = path.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines):
            if "type: ignore" not in line:
                continue
            after = line.split("type: ignore", 1)[1].split("]", 1)[-1]
            above = lines[number - 1].strip() if number else ""
            if "#" not in after and not above.startswith("#"):
                unexplained.append(f"{name_of(path)}:{number + 1}")
    assert unexplained == []
