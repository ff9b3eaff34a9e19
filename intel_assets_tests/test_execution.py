"""Executor selection, Celery settings and the deployment commands, without starting anything.

`test_scale_out.py` runs all of it for real; these pin down the rules one by one.
"""

from pathlib import Path

import dagster as dg
import pytest
import yaml
from dagster_celery.cli import get_validated_config

from intel_assets import deployment, execution
from intel_assets.definitions import defs

SOCKET_URL = "unix:///srv/intel/redis/redis.sock?db=0"


def test_the_default_executor_is_dagsters_and_celery_is_chosen_by_name():
    assert execution.executor_name({}) == "default"
    assert execution.executor_from_environment({}) is None
    assert execution.executor_name({"INTEL_EXECUTOR": " Celery "}) == "celery"
    with pytest.raises(execution.ExecutionConfigError, match="use one of default, celery"):
        execution.executor_name({"INTEL_EXECUTOR": "k8s"})


def test_every_job_uses_the_celery_executor_when_asked(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("INTEL_EXECUTOR", "celery")
    definitions = defs()
    assert isinstance(definitions, dg.Definitions)
    jobs = [
        definitions.resolve_implicit_global_asset_job_def(),
        definitions.resolve_job_def("youtube_collection_job"),
        definitions.resolve_job_def("hourly_metrics_job"),
        definitions.resolve_job_def("monthly_archive_job"),
    ]
    assert {job.executor_def.name for job in jobs} == {"celery"}
    monkeypatch.delenv("INTEL_EXECUTOR")
    default_job = defs().resolve_job_def("youtube_collection_job")
    assert default_job.executor_def.name == "multi_or_in_process_executor"


def test_celery_urls_are_derived_from_the_redis_url_on_the_next_two_databases():
    # The embedded server's socket: kombu's spelling for the broker, the backend's for results.
    assert execution.celery_urls(SOCKET_URL, {}) == (
        "redis+socket:///srv/intel/redis/redis.sock?virtual_host=1",
        "redis+socket:///srv/intel/redis/redis.sock?db=2",
    )
    assert execution.celery_urls("redis://:secret@cache:6379/3", {}) == (
        "redis://:secret@cache:6379/4",
        "redis://:secret@cache:6379/5",
    )
    assert execution.celery_urls("rediss://cache:6380?ssl_cert_reqs=required", {}) == (
        "rediss://cache:6380/1?ssl_cert_reqs=required",
        "rediss://cache:6380/2?ssl_cert_reqs=required",
    )
    configured = {
        "INTEL_CELERY_BROKER_URL": "redis://queue:6379/0",
        "INTEL_CELERY_BACKEND_URL": "redis://results:6379/0",
    }
    assert execution.celery_urls("redis+sentinel://whatever", configured) == (
        "redis://queue:6379/0",
        "redis://results:6379/0",
    )
    with pytest.raises(execution.ExecutionConfigError, match="set INTEL_CELERY_BROKER_URL"):
        execution.celery_urls("redis+sentinel://s1:26379/mymaster", {})
    with pytest.raises(execution.ExecutionConfigError, match="database 14"):
        execution.celery_urls("redis://cache:6379/14", {})


def test_lost_steps_go_back_to_the_queue_after_the_visibility_timeout():
    settings = execution.celery_settings({})
    assert settings["task_acks_late"] and settings["task_reject_on_worker_lost"]
    assert settings["worker_prefetch_multiplier"] == 1
    transport = settings["broker_transport_options"]
    assert transport["visibility_timeout"] == 7200
    assert transport["unacked_restore_interval"] == 10  # a tenth of it, at most 10 s
    short = execution.celery_settings({"INTEL_CELERY_VISIBILITY_TIMEOUT_SECONDS": "20"})
    assert short["broker_transport_options"]["visibility_timeout"] == 20
    assert short["broker_transport_options"]["unacked_restore_interval"] == 2
    for bad in ("0", "-5", "two hours"):
        with pytest.raises(execution.ExecutionConfigError, match="positive integer"):
            execution.celery_settings({"INTEL_CELERY_VISIBILITY_TIMEOUT_SECONDS": bad})


def test_the_worker_file_is_valid_for_dagster_celery_and_holds_no_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    environ = {"INTEL_REDIS_URL": "redis://:hunter2@cache:6379/0"}
    env = execution.celery_environment(environ["INTEL_REDIS_URL"], environ)
    # Celery reads its URLs from its own variables; the password travels only there.
    assert env["CELERY_BROKER_URL"] == "redis://:hunter2@cache:6379/1"
    assert env["CELERY_RESULT_BACKEND"] == "redis://:hunter2@cache:6379/2"
    path = tmp_path / "worker.yaml"
    path.write_text(yaml.safe_dump(execution.worker_config_yaml(env)))
    assert "hunter2" not in path.read_text()
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    validated = get_validated_config(str(path))
    assert validated["config_source"] == execution.celery_settings(env)
    # The executor's config names the variables, never their values.
    config = execution.celery_executor_config(env)
    assert config["broker"] == {"env": "INTEL_CELERY_BROKER_URL"}
    assert config["backend"] == {"env": "INTEL_CELERY_BACKEND_URL"}


def test_the_deployment_commands_are_dagsters_own():
    server = deployment.code_server_command("0.0.0.0", 4266)
    assert server[0].endswith("/dagster") and server[1:3] == ["api", "grpc"]
    assert server[3:] == [
        "-m", "intel_assets.definitions", "-a", "defs", "--location-name", "creator_intel",
        "-h", "0.0.0.0", "-p", "4266",
    ]  # fmt: skip
    web = deployment.webserver_command("127.0.0.1", 3000)
    assert web[0].endswith("/dagster-webserver") and web[1:3] == [
        "-w",
        str(deployment.DEPLOY_WORKSPACE),
    ]
    assert deployment.daemon_command()[1:] == ["run", "-w", str(deployment.DEPLOY_WORKSPACE)]
    worker = deployment.worker_command(
        "w1", Path("/x/worker.yaml"), concurrency=2, queues=["dagster"], loglevel="INFO"
    )
    assert worker[0].endswith("/dagster-celery") and worker[1:3] == ["worker", "start"]
    assert worker[3:] == [
        "-A", "dagster_celery.app", "-y", "/x/worker.yaml", "-n", "w1",
        "-i", "intel_assets.definitions", "-l", "INFO", "-q", "dagster",
        "--", "--concurrency", "2",
    ]  # fmt: skip


def test_the_workspace_finds_the_code_server_where_the_variables_say():
    assert deployment.code_server_address({}) == ("localhost", 4266)
    assert deployment.code_server_address(
        {"INTEL_CODE_SERVER_HOST": "code.internal", "INTEL_CODE_SERVER_PORT": "5000"}
    ) == ("code.internal", 5000)
    with pytest.raises(execution.ExecutionConfigError, match="port number"):
        deployment.code_server_address({"INTEL_CODE_SERVER_PORT": "http"})
    workspace = yaml.safe_load(deployment.DEPLOY_WORKSPACE.read_text())
    assert workspace == {
        "load_from": [
            {
                "grpc_server": {
                    "host": {"env": "INTEL_CODE_SERVER_HOST"},
                    "port": {"env": "INTEL_CODE_SERVER_PORT"},
                    "location_name": deployment.LOCATION_NAME,
                }
            }
        ]
    }
