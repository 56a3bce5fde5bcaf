"""deploy/compose.yaml and deploy/Containerfile hang together: every service's build
target is a stage, every file they copy or mount exists, the node's command line is
one the CLI accepts, its settings validate, it waits out the drain, and its health
check asks /readyz. (Building and starting the images needs a container runtime
with registry access; see docs/operations.md.)"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import yaml

from hearing_server.cli import parser
from hearing_server.settings import Settings, load_settings
from tests.deploy.helpers import DEPLOY, ROOT

COMPOSE = DEPLOY / "compose.yaml"
CONTAINERFILE = DEPLOY / "Containerfile"


def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return data


def substituted(value: str) -> str:
    """``${NAME:-default}`` as compose fills it when NAME is unset."""
    return re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", value)


def seconds(duration: str) -> float:
    units = {"s": 1, "m": 60, "h": 3600}
    return sum(float(n) * units[u] for n, u in re.findall(r"(\d+(?:\.\d+)?)([smh])", duration))


def test_the_stack_has_a_node_redis_coturn_and_nginx_built_from_the_containerfile() -> None:
    services = compose()["services"]
    assert set(services) >= {"node", "redis", "coturn", "nginx"}
    stages = set(re.findall(r"^FROM \S+ AS (\S+)$", CONTAINERFILE.read_text(), re.M))
    for name, service in services.items():
        build = service["build"]
        assert (DEPLOY / build["context"] / build["dockerfile"]).resolve() == CONTAINERFILE
        assert build["target"] in stages, name
        assert service["network_mode"] == "host"  # WebRTC's ephemeral UDP ports
    # the last stage (what a plain `docker build` makes) is the node
    assert re.findall(r"^FROM \S+ AS (\S+)$", CONTAINERFILE.read_text(), re.M)[-1] == "node"


def test_every_file_the_images_copy_or_mount_exists() -> None:
    for line in CONTAINERFILE.read_text().splitlines():
        if line.startswith("COPY "):
            for source in shlex.split(line)[1:-1]:
                assert (ROOT / source).exists(), source
    for name, service in compose()["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./") and source != "./certs":
                assert (DEPLOY / source).exists(), (name, source)
    text = CONTAINERFILE.read_text()
    assert "--require-hashes -r requirements.lock" in text
    assert "--no-deps --no-build-isolation -e ." in text


def test_the_node_service_runs_a_cli_command_with_valid_settings_and_waits_out_the_drain(
        tmp_path: Path) -> None:
    node = compose()["services"]["node"]
    args = parser().parse_args(node["command"])
    assert args.command == "serve" and args.data_dir == "/var/lib/hearing-server"
    env = {k: substituted(str(v)) for k, v in node["environment"].items()}
    settings = load_settings(env=env, data_dir=tmp_path)  # ice_servers etc. validate
    assert settings.redis_url and settings.ice_servers and settings.log_json
    drain = settings.drain_timeout or Settings().drain_timeout
    assert seconds(node["stop_grace_period"]) >= drain + 60
    assert node["stop_signal"] == "SIGTERM"
    assert any("/readyz" in part for part in node["healthcheck"]["test"])
    node_cmd = re.findall(r"^CMD (\[.*\])$", CONTAINERFILE.read_text(), re.M)[-1]
    assert parser().parse_args(yaml.safe_load(node_cmd)).command == "serve"
