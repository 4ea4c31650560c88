"""docker-compose.yml, checked statically against the config contract.

No Docker engine runs here, so the file is never started in CI: these tests check what can be
checked without one (pinned images, environment names the settings understand, ports, topics,
health-gated start order, secrets kept out of the file). Prometheus and promtool checks of
config/prometheus run for real in tests/integration/deploy.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from consumer.settings import ENV_PREFIX, Settings, load_settings

ROOT = Path(__file__).resolve().parents[3]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, Any] = COMPOSE["services"]
BARUNRUN_SERVICES = [name for name, svc in SERVICES.items() if "build" in svc]


def _known_env_names() -> set[str]:
    names = set()
    for section, field in Settings.model_fields.items():
        for name in field.annotation.model_fields:  # type: ignore[union-attr]
            names.add(f"{ENV_PREFIX}{section}_{name}".upper())
    return names | {"BARUNRUN_CONFIG"}


def test_every_image_is_pinned_to_a_version() -> None:
    for name, service in SERVICES.items():
        image = service.get("image")
        assert image, f"{name} has no image"
        repository, _, tag = image.rpartition(":")
        assert repository and tag and tag != "latest", f"{name}: {image} is not pinned"
        assert re.search(r"\d", tag), f"{name}: {image} tag is not a version"


def test_kafka_is_apache_kafka_in_kraft_mode() -> None:
    kafka = SERVICES["kafka"]
    assert kafka["image"].startswith("apache/kafka:")
    env = kafka["environment"]
    assert "controller" in env["KAFKA_PROCESS_ROLES"] and "broker" in env["KAFKA_PROCESS_ROLES"]
    assert "KAFKA_CONTROLLER_QUORUM_VOTERS" in env
    assert "ZOOKEEPER" not in " ".join(env)


def test_barunrun_services_use_only_environment_names_the_settings_know() -> None:
    known = _known_env_names()
    for name in BARUNRUN_SERVICES:
        for variable in SERVICES[name].get("environment", {}):
            if variable.startswith(ENV_PREFIX):
                assert variable in known, f"{name}: {variable} is not a BarunRun setting"


def test_environment_values_are_valid_settings() -> None:
    env = {k: str(v) for k, v in SERVICES["consumer"]["environment"].items()}
    env.pop("BARUNRUN_REDIS_PASSWORD_FILE")  # a path inside the container
    settings = load_settings(environ=env)
    assert settings.kafka.bootstrap == "kafka:9092"
    assert settings.redis.url.startswith("redis://redis:")


def test_topic_init_creates_the_configured_topics() -> None:
    defaults = load_settings(environ={}).topics
    script = " ".join(SERVICES["topic-init"]["command"])
    created = set(re.search(r"for topic in ([^;]+);", script).group(1).split())  # type: ignore[union-attr]
    assert {defaults.frames, defaults.anomalies, defaults.dlq, defaults.scores} <= created
    partitions = int(re.search(r"--partitions (\d+)", script).group(1))  # type: ignore[union-attr]
    assert partitions >= SERVICES["consumer"]["deploy"]["replicas"] * 2  # room to scale out


def test_metrics_port_agrees_between_consumer_healthcheck_and_prometheus() -> None:
    consumer = SERVICES["consumer"]
    port = int(consumer["environment"]["BARUNRUN_METRICS_PORT"])
    assert f":{port}/readyz" in " ".join(consumer["healthcheck"]["test"])
    prometheus = yaml.safe_load((ROOT / "config/prometheus/prometheus.yml").read_text())
    job = prometheus["scrape_configs"][0]
    assert job["dns_sd_configs"][0]["port"] == port
    assert job["dns_sd_configs"][0]["names"] == ["consumer"]
    alerts = (ROOT / "config/prometheus/alerts.yml").read_text()
    assert f'job="{job["job_name"]}"' in alerts


def test_consumer_scales_out() -> None:
    consumer = SERVICES["consumer"]
    assert "container_name" not in consumer  # a fixed name forbids --scale
    assert "ports" not in consumer  # replicas would fight over a host port
    assert consumer["deploy"]["replicas"] >= 2


@pytest.mark.parametrize(
    "service", ["consumer", "gateway", "topic-init", "grafana", "prometheus", "archive",
                "labels-ingest"]
)
def test_start_order_waits_for_health(service: str) -> None:
    for dependency, rule in SERVICES[service]["depends_on"].items():
        expected = "service_completed_successfully" if dependency.endswith("-init") else (
            "service_healthy"
        )
        assert rule["condition"] == expected, f"{service} -> {dependency}"
        if expected == "service_healthy":
            assert "healthcheck" in SERVICES[dependency], f"{dependency} has no healthcheck"


@pytest.mark.parametrize("service", BARUNRUN_SERVICES)
def test_every_secret_file_a_service_names_is_mounted_in_it(service: str) -> None:
    # Settings read *_FILE secrets at start-up: a path to a secret the container does not
    # mount would stop the service before it did anything.
    mounted = {f"/run/secrets/{name}" for name in SERVICES[service].get("secrets", [])}
    for name, value in SERVICES[service].get("environment", {}).items():
        if name.endswith("_FILE") and value:
            assert value in mounted, f"{service}: {name}={value} is not mounted"


def test_the_archive_and_label_ingestion_feed_the_retrain_job() -> None:
    def archive_dir(service: str) -> str:
        env = SERVICES[service]["environment"]
        volume = next(v for v in SERVICES[service]["volumes"] if v.startswith("archive:"))
        assert volume.split(":")[1] == env["BARUNRUN_ARCHIVE_DIR"]
        return env["BARUNRUN_ARCHIVE_DIR"]

    assert SERVICES["archive"]["command"] == ["archive"]
    assert SERVICES["labels-ingest"]["command"] == ["labels", "ingest"]
    assert archive_dir("archive") == archive_dir("labels-ingest") == archive_dir("retrain")
    assert SERVICES["retrain"]["profiles"] == ["retrain"]


def test_simulator_is_an_optional_profile() -> None:
    assert SERVICES["simulator"]["profiles"] == ["sim"]


def test_secrets_come_from_files_that_git_ignores() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    assert not re.search(r"(?i)(password|secret)\s*[:=]\s*['\"]?[A-Za-z0-9]{6,}", text)
    for secret in COMPOSE["secrets"].values():
        path = ROOT / secret["file"]
        ignored = subprocess.run(
            ["git", "check-ignore", "-q", str(path)], cwd=ROOT, check=False
        ).returncode == 0
        assert ignored, f"{secret['file']} would be committed"


def test_redis_persists_and_requires_a_password() -> None:
    command = " ".join(SERVICES["redis"]["command"])
    assert "--appendonly yes" in command
    assert "--requirepass" in command and "/run/secrets/redis_password" in command
    assert SERVICES["consumer"]["environment"]["BARUNRUN_REDIS_PASSWORD_FILE"] == (
        "/run/secrets/redis_password"
    )


def test_grafana_provisioning_points_at_the_dashboard_and_prometheus() -> None:
    datasource = yaml.safe_load(
        (ROOT / "config/grafana/provisioning/datasources/prometheus.yml").read_text()
    )["datasources"][0]
    assert datasource["url"] == "http://prometheus:9090"
    dashboard = (ROOT / "config/grafana/dashboards/barunrun.json").read_text()
    assert datasource["uid"] in dashboard


def test_sasl_override_gives_clients_valid_sasl_settings_and_keeps_secrets_out() -> None:
    override = yaml.safe_load((ROOT / "docker-compose.sasl.yml").read_text())
    kafka_env = override["services"]["kafka"]["environment"]
    assert kafka_env["KAFKA_SASL_ENABLED_MECHANISMS"] == "PLAIN"
    assert "SASL_PLAINTEXT://" in kafka_env["KAFKA_ADVERTISED_LISTENERS"]
    known = _known_env_names()
    clients = [name for name in BARUNRUN_SERVICES if name != "topic-init"]
    assert set(clients) <= set(override["services"])  # every Kafka client speaks SASL
    for name in clients:
        env = {k: str(v) for k, v in override["services"][name]["environment"].items()}
        assert set(env) <= known
        mounted = {f"/run/secrets/{s}" for s in override["services"][name]["secrets"]}
        assert "/run/secrets/kafka_password" in mounted
        for key, value in env.items():
            if key.endswith("_FILE") and value:
                assert value in mounted, f"{name}: {key}={value} is not mounted"
        files = {k: v for k, v in env.items() if k.endswith("_FILE")}
        settings = load_settings(environ={k: v for k, v in env.items() if k not in files})
        options = settings.kafka.client_options()
        assert options["security_protocol"] == "SASL_PLAINTEXT"
        assert options["sasl_mechanism"] == "PLAIN"
        assert options["sasl_plain_username"] == "barunrun"
    assert "--command-config" in " ".join(override["services"]["topic-init"]["command"])
    for secret in override["secrets"].values():
        ignored = subprocess.run(
            ["git", "check-ignore", "-q", str(ROOT / secret["file"])], cwd=ROOT, check=False
        ).returncode == 0
        assert ignored, f"{secret['file']} would be committed"


def test_gateway_is_scraped_and_takes_its_key_from_a_secret() -> None:
    gateway = SERVICES["gateway"]
    assert gateway["command"][:1] == ["gateway"]
    port = int(gateway["command"][gateway["command"].index("--port") + 1])
    assert gateway["ports"] == [f"{port}:{port}"]
    assert gateway["environment"]["BARUNRUN_GATEWAY_JWT_SECRET_FILE"].startswith("/run/secrets/")
    prometheus = yaml.safe_load((ROOT / "config/prometheus/prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in prometheus["scrape_configs"]}
    assert jobs["barunrun-gateway"]["dns_sd_configs"][0] == {
        "names": ["gateway"], "type": "A", "port": port, "refresh_interval": "15s",
    }
