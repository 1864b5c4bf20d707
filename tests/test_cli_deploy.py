"""Deployment files: compose parses, names real commands, mounts what settings expect;
the README documents every setting and command as the code defines them."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import yaml

from service.cli import main
from service.config import SETTINGS, markdown_table

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text("utf-8"))
SERVICES = COMPOSE["services"]


def test_compose_defines_the_single_and_the_scale_topology():
    profiles = {name: tuple(service["profiles"]) for name, service in SERVICES.items()}
    assert profiles == {"seedfeeds": ("single",), "publisher": ("scale",), "web": ("scale",),
                        "nginx": ("scale",), "storage": ("storage",),
                        "mirroring": ("storage",), "cdn": ("storage",)}
    assert (ROOT / ".env").read_text("utf-8").strip() == "COMPOSE_PROFILES=single"
    assert SERVICES["seedfeeds"]["ports"] == ["8080:8080"]
    assert SERVICES["seedfeeds"]["restart"] == "unless-stopped"
    assert SERVICES["web"]["deploy"]["replicas"] >= 2


def test_compose_runs_only_commands_that_exist():
    for name, service in SERVICES.items():
        command = service.get("command")
        if command is None or not service["image"].startswith("seedfeeds"):
            continue
        assert command[0] == "seedfeeds", name
        assert command[1] in main.commands, f"{name}: no command {command[1]!r}"


def test_compose_mounts_the_folders_the_settings_name():
    for name in ("seedfeeds", "publisher", "mirroring", "web"):
        service = SERVICES[name]
        env = service["environment"]
        targets = {v.split(":")[1]: v for v in service["volumes"]}
        assert env["SEEDFEEDS_FEEDS"] in targets, name
        if name != "web":
            assert env["SEEDFEEDS_SEEDS"] in targets, name
            assert str(Path(env["SEEDFEEDS_STATE"]).parent) in targets, name
    assert targets[env["SEEDFEEDS_FEEDS"]].endswith(":ro")  # web reads feeds only
    publisher = {v.split(":")[1]: v for v in SERVICES["publisher"]["volumes"]}
    assert publisher["/srv/seedfeeds/seeds"].endswith(":ro")


# Read by boto3 (and by SeaweedFS, for its credentials file), not settings of seedfeeds.
AWS = {"AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION"}


def test_every_environment_variable_in_compose_is_a_setting():
    known = {s.env for s in SETTINGS} | AWS
    for name, service in SERVICES.items():
        assert set(service.get("environment", {})) <= known, name


def test_nginx_in_compose_uses_the_deploy_config_and_the_feeds_folder():
    conf = (ROOT / "deploy" / "nginx.conf").read_text("utf-8")
    listen = re.search(r"^\s*listen (\d+);", conf, re.M)
    assert listen and SERVICES["nginx"]["ports"] == [f"8080:{listen[1]}"]
    assert re.search(r"^\s*root /srv/seedfeeds/feeds;", conf, re.M)
    assert re.search(r"^\s*server web:8080;", conf, re.M)
    assert re.search(r"^\s*server publisher:8081;", conf, re.M)
    assert SERVICES["publisher"]["environment"]["SEEDFEEDS_WEBSUB_PORT"] == "8081"
    volumes = SERVICES["nginx"]["volumes"]
    assert "./deploy/nginx.conf:/etc/seedfeeds/nginx.conf:ro" in volumes
    assert "./feeds:/srv/seedfeeds/feeds:ro" in volumes


def test_nginx_in_compose_names_the_base_url_in_the_feeds_link_headers(tmp_path: Path):
    """The nginx container's command, run here with its paths made local."""
    script = SERVICES["nginx"]["command"][2].replace("$$", "$").split(" && ")[0]
    script = script.replace("/etc/seedfeeds/nginx.conf", str(ROOT / "deploy" / "nginx.conf"))
    script = script.replace("/etc/nginx/nginx.conf", str(tmp_path / "nginx.conf"))
    subprocess.run(["sh", "-c", script], check=True,
                   env={"PATH": os.environ["PATH"], "SEEDFEEDS_BASE_URL": "https://news.example"})
    conf = (tmp_path / "nginx.conf").read_text("utf-8")
    assert 'default "https://news.example";' in conf
    assert """default '<https://news.example/websub>; rel="hub", ';""" in conf
    assert "localhost:8080" not in conf


def test_the_dockerfile_runs_serve_as_a_non_root_user_with_a_healthcheck():
    dockerfile = (ROOT / "Dockerfile").read_text("utf-8")
    assert dockerfile.startswith("# ") and "FROM python:3.11-slim" in dockerfile
    assert re.search(r"^USER seedfeeds$", dockerfile, re.M)
    assert 'CMD ["seedfeeds", "serve"]' in dockerfile
    assert 'CMD ["seedfeeds", "healthcheck"]' in dockerfile
    assert "pip install ." in dockerfile
    for env in ("SEEDFEEDS_SEEDS=/srv/seedfeeds/seeds", "SEEDFEEDS_FEEDS=/srv/seedfeeds/feeds",
                "SEEDFEEDS_HOST=0.0.0.0"):
        assert env in dockerfile


def test_the_readme_configuration_table_matches_the_settings():
    readme = (ROOT / "README.md").read_text("utf-8")
    assert markdown_table() in readme, "run: python -c 'from service.config import " \
        "markdown_table; print(markdown_table())' and paste it into README.md"


def test_the_readme_documents_every_command():
    readme = (ROOT / "README.md").read_text("utf-8")
    for command in main.commands:
        assert f"seedfeeds {command}" in readme, command


def test_the_storage_profile_mirrors_into_its_own_store_and_caches_it_in_front():
    mirroring, storage = SERVICES["mirroring"], SERVICES["storage"]
    env = mirroring["environment"]
    assert env["SEEDFEEDS_PUBLISH_TO"] == "s3://seedfeeds/site"
    assert env["AWS_ENDPOINT_URL"] == "http://storage:8333"
    assert "-s3.port=8333" in storage["command"][0] and "-bucket=seedfeeds" in \
        storage["command"][0]
    assert "-master.telemetry=false" in storage["command"][0]
    assert env["SEEDFEEDS_CDN_PURGE"] == "GET http://cdn/purge{path}"
    conf = (ROOT / "deploy" / "nginx-bucket.conf").read_text("utf-8")
    assert re.search(r"^\s*server storage:8333;", conf, re.M)
    assert "proxy_pass http://bucket/seedfeeds/site$seedfeeds_object;" in conf
    assert "./deploy/nginx-bucket.conf:/etc/nginx/nginx.conf:ro" in SERVICES["cdn"]["volumes"]
