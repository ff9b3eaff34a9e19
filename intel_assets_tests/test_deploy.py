"""deploy/: the Kubernetes image and the Helm values, checked offline.

No Docker daemon or Kubernetes cluster exists where the tests run, so nothing is built or
installed here. What can be checked is: every file the Dockerfile copies exists in the build
context and survives its ignore file, and makes a complete package; the image's install resolves
(the same requirements are met by this environment); the commands the image and the chart run
exist; the Helm values validate against the chart's values schema (when a copy of it is at hand,
see `_chart_schema`); the instance settings they give the cluster are dagster.yaml's and load in
Dagster; and no secret is written in them.
"""

import copy
import fnmatch
import importlib
import os
import re
import shlex
import tomllib
from importlib import metadata
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import yaml
from jsonschema import Draft7Validator
from packaging.requirements import Requirement

from intel_assets import deployment
from intel_assets.cli import build_parser
from intel_assets.settings import ENVIRONMENT_VARIABLES, MIGRATIONS_DIR, PROJECT_ROOT

DOCKERFILE = PROJECT_ROOT / "deploy" / "Dockerfile"
DOCKERIGNORE = PROJECT_ROOT / "deploy" / "Dockerfile.dockerignore"
VALUES = PROJECT_ROOT / "deploy" / "helm" / "values.yaml"
PYPROJECT = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())
# Variables that carry a credential (a password inside a URL counts): never a literal in values.
SECRET_VARIABLES = {
    "INTEL_POSTGRES_URL", "INTEL_DAGSTER_POSTGRES_URL", "INTEL_REDIS_URL", "INTEL_API_KEYS",
    "INTEL_CELERY_BROKER_URL", "INTEL_CELERY_BACKEND_URL", "YOUTUBE_API_KEY",
    "TWITCH_CLIENT_ID", "TWITCH_CLIENT_SECRET", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
}  # fmt: skip


def _instructions() -> list[tuple[str, str]]:
    """(instruction, arguments) of the Dockerfile, continuation lines joined, comments dropped."""
    lines = [
        line for line in DOCKERFILE.read_text().splitlines() if not line.lstrip().startswith("#")
    ]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    found = []
    for line in joined.splitlines():
        if line.strip():
            keyword, _, rest = line.strip().partition(" ")
            found.append((keyword.upper(), rest.strip()))
    return found


def _ignored(relative: str) -> bool:
    patterns = [
        p.strip()
        for p in DOCKERIGNORE.read_text().splitlines()
        if p.strip() and not p.startswith("#")
    ]
    parts = relative.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    return any(
        fnmatch.fnmatch(prefix, pattern) or fnmatch.fnmatch(prefix, pattern.removeprefix("**/"))
        for pattern in patterns
        for prefix in prefixes
    )


def _copied() -> set[str]:
    """Every file the image receives, relative to the build context (the repository root)."""
    files: set[str] = set()
    for keyword, arguments in _instructions():
        if keyword != "COPY":
            continue
        *sources, _destination = shlex.split(arguments)
        for source in sources:
            path = PROJECT_ROOT / source
            assert path.exists(), f"the Dockerfile copies {source}, which is not in the context"
            candidates = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
            for candidate in candidates:
                relative = candidate.relative_to(PROJECT_ROOT).as_posix()
                if not _ignored(relative):
                    files.add(relative)
            assert not _ignored(source), f"{source} is copied but the ignore file drops it"
    return files


def test_the_image_receives_a_complete_package_from_the_build_context():
    copied = _copied()
    readme = PYPROJECT["project"]["readme"]
    assert readme in copied and "pyproject.toml" in copied
    # The package, its data (the game catalog, py.typed) and what it reads beside itself.
    package_files = {
        p.relative_to(PROJECT_ROOT).as_posix()
        for p in (PROJECT_ROOT / "intel_assets").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    assert package_files <= copied
    assert "intel_assets/games.toml" in copied and "intel_assets/py.typed" in copied
    migrations = {p.relative_to(PROJECT_ROOT).as_posix() for p in MIGRATIONS_DIR.glob("*.sql")}
    assert migrations and migrations <= copied
    assert "dagster.yaml" in copied  # `intel-assets` commands link it into their DAGSTER_HOME
    # Tests, benchmarks and local state stay out of the image.
    assert not any(f.startswith(("intel_assets_tests/", "benchmarks/", ".venv/")) for f in copied)


def test_the_images_install_resolves_and_its_commands_exist():
    runs = [arguments for keyword, arguments in _instructions() if keyword == "RUN"]
    install = next(r for r in runs if "pip install" in r)
    extras = re.search(r'"\.\[([a-z0-9_,-]+)\]"', install)
    assert extras is not None, install
    wanted = extras.group(1).split(",")
    optional = PYPROJECT["project"]["optional-dependencies"]
    assert set(wanted) <= set(optional), f"the image asks for extras {wanted}"
    # The image installs the project's requirements plus those extras: this environment was
    # installed from the same registry with them, so their versions resolve together.
    for line in PYPROJECT["project"]["dependencies"] + [r for e in wanted for r in optional[e]]:
        requirement = Requirement(line)
        installed = metadata.version(requirement.name)
        assert requirement.specifier.contains(installed, prereleases=True), (line, installed)

    cmd = next(arguments for keyword, arguments in _instructions() if keyword == "CMD")
    command = yaml.safe_load(cmd)  # the exec form is a JSON array
    assert command[:3] == ["dagster", "api", "grpc"]
    assert command[command.index("-p") + 1] == str(deployment.DEFAULT_CODE_SERVER_PORT)
    _assert_definitions(command[3:])


def _assert_definitions(grpc_args: list[str]) -> None:
    """`-m module -a attribute` names the project's Definitions."""
    module = importlib.import_module(grpc_args[grpc_args.index("-m") + 1])
    attribute = getattr(module, grpc_args[grpc_args.index("-a") + 1])
    assert isinstance(attribute(), dg.Definitions)


def _leaves(value: Any, path: str = "") -> list[tuple[str, Any]]:
    """(dotted path, value) of every scalar in a YAML document."""
    if isinstance(value, dict):
        return [leaf for k, v in value.items() for leaf in _leaves(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [leaf for i, v in enumerate(value) for leaf in _leaves(v, f"{path}[{i}]")]
    return [(path, value)]


def _names_a_credential(path: str) -> bool:
    key = re.split(r"[.\[]", path)[-1].lower()
    if key.endswith("secretname"):  # the name of a Kubernetes secret, not its content
        return False
    return any(word in key for word in ("password", "secret", "apikey", "api_key", "token"))


def _values() -> dict[str, Any]:
    return yaml.safe_load(VALUES.read_text())


def _chart_schema() -> dict[str, Any] | None:
    """The chart's values.schema.json, if a copy is at hand.

    It is not vendored here: the project holds no copy of the chart's files. Point
    INTEL_HELM_VALUES_SCHEMA at the chart's `values.schema.json` (from `helm pull dagster/dagster
    --untar`), or place it in the shared folder beside the repository.
    """
    candidates = [
        os.environ.get("INTEL_HELM_VALUES_SCHEMA"),
        str(PROJECT_ROOT.parent / "shared" / "helm" / "dagster" / "values.schema.json"),
    ]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return yaml.safe_load(Path(candidate).read_text())
    return None


def _for_overrides(schema: Any) -> Any:
    """The schema for a values file that overrides the chart's defaults.

    Helm validates the defaults merged with the overrides, so keys the defaults supply are not
    required here; Kubernetes object types the schema takes from a remote URL are not checked.
    """
    if isinstance(schema, dict):
        return {
            key: _for_overrides(value)
            for key, value in schema.items()
            if key != "required" and not (key == "$ref" and not str(value).startswith("#"))
        }
    if isinstance(schema, list):
        return [_for_overrides(item) for item in schema]
    return schema


def test_the_helm_values_validate_against_the_charts_schema():
    schema = _chart_schema()
    if schema is None:
        pytest.skip("the Helm chart's values.schema.json is not at hand (see _chart_schema)")
    validator = Draft7Validator(_for_overrides(schema))
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(_values())]
    assert errors == []
    # The schema catches what a typo would do.
    broken = copy.deepcopy(_values())
    broken["dagsterDaemon"]["runMonitorng"] = {"enabled": True}
    broken["runLauncher"]["type"] = "K8sRunlauncher"
    assert len(list(validator.iter_errors(broken))) == 2


def test_the_cluster_runs_the_image_with_dagster_yamls_settings_and_no_secret(tmp_path: Path):
    values = _values()
    local = yaml.safe_load((PROJECT_ROOT / "dagster.yaml").read_text())
    [code] = values["dagster-user-deployments"]["deployments"]
    _assert_definitions(code["dagsterApiGrpcArgs"])
    assert code["port"] == deployment.DEFAULT_CODE_SERVER_PORT
    # One image everywhere, so webserver, daemon, code and runs share one Dagster version.
    images = {
        (i["repository"], i["tag"])
        for i in (values["dagsterWebserver"]["image"], values["dagsterDaemon"]["image"])
    } | {(code["image"]["repository"], code["image"]["tag"])}
    [(repository, tag)] = images
    [migrate] = code["initContainers"]
    assert migrate["image"] == f"{repository}:{tag}"
    assert build_parser().parse_args(migrate["command"][1:]).command == "migrate"
    assert values["runLauncher"]["type"] == "K8sRunLauncher"

    # Secrets only by reference: the same Kubernetes secret for code, runs and migrations.
    secret = {"name": "creator-intel-env"}
    assert code["envSecrets"] == [secret]
    assert values["runLauncher"]["config"]["k8sRunLauncher"]["envSecrets"] == [secret]
    assert migrate["envFrom"] == [{"secretRef": secret}]
    assert SECRET_VARIABLES - set(ENVIRONMENT_VARIABLES) <= {
        "INTEL_CELERY_BROKER_URL", "INTEL_CELERY_BACKEND_URL", "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
    }  # fmt: skip
    assert not [path for path, value in _leaves(values) if _names_a_credential(path) and value], (
        "a credential is written in the values"
    )
    assert not any(name in yaml.safe_dump(code.get("env", {})) for name in SECRET_VARIABLES)
    assert values["global"]["postgresqlSecretName"] and not values.get("postgresql", {}).get(
        "postgresqlPassword"
    )
    assert values["generatePostgresqlPasswordSecret"] is False

    # The instance settings are dagster.yaml's (the run limit aside), and Dagster loads them.
    extra = values["additionalInstanceConfig"]
    assert extra["run_monitoring"] == local["run_monitoring"]
    assert extra["run_retries"] == local["run_retries"]
    assert extra["concurrency"]["pools"] == local["concurrency"]["pools"]
    logs = values["pythonLogs"]
    assert {
        "managed_python_loggers": logs["managedPythonLoggers"],
        "python_log_level": logs["pythonLogLevel"],
        "dagster_handler_config": logs["dagsterHandlerConfig"],
    } == local["python_logs"]
    assert values["telemetry"] == local["telemetry"]
    # The chart renders its own run monitoring and retries only when asked: off, so the
    # instance holds dagster.yaml's once.
    assert not values["dagsterDaemon"]["runMonitoring"]["enabled"]
    assert not values["dagsterDaemon"]["runRetries"]["enabled"]
    rendered = {
        "run_coordinator": {
            "module": "dagster.core.run_coordinator",
            "class": values["dagsterDaemon"]["runCoordinator"]["type"],
        },
        "python_logs": local["python_logs"],
        "telemetry": values["telemetry"],
        **extra,
    }
    (tmp_path / "dagster.yaml").write_text(yaml.safe_dump(rendered))
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        assert instance.run_monitoring_enabled
        assert instance.run_retries_max_retries == local["run_retries"]["max_retries"]
