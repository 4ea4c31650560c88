"""Settings: defaults file, config file, environment overrides, secrets, and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from consumer.errors import ConfigError
from consumer.settings import load_settings


def test_defaults_match_the_contract() -> None:
    settings = load_settings(environ={})
    assert settings.kafka.bootstrap == "127.0.0.1:9092"
    assert settings.redis.url == "redis://127.0.0.1:6379/0"
    assert settings.metrics.port == 9108
    assert (settings.topics.frames, settings.topics.anomalies, settings.topics.dlq) == (
        "pose.frames", "pose.anomalies", "pose.frames.dlq",
    )
    assert (settings.window.size, settings.window.hop) == (30, 10)


def test_contract_environment_variables_override_the_file() -> None:
    settings = load_settings(environ={
        "BARUNRUN_KAFKA_BOOTSTRAP": "kafka-1:9092,kafka-2:9092",
        "BARUNRUN_REDIS_URL": "redis://cache:6380/2",
        "BARUNRUN_METRICS_PORT": "9200",
        "BARUNRUN_MODEL_DIR": "/models/current",
    })
    assert settings.kafka.client_options()["bootstrap_servers"] == ["kafka-1:9092", "kafka-2:9092"]
    assert settings.redis.url == "redis://cache:6380/2"
    assert settings.metrics.port == 9200
    assert settings.model.dir == "/models/current"


def test_config_file_then_environment(tmp_path: Path) -> None:
    config = tmp_path / "site.toml"
    config.write_text('[window]\nhop = 5\n[topics]\nframes = "site.frames"\n')
    settings = load_settings(config, environ={"BARUNRUN_WINDOW_HOP": "15"})
    assert settings.window.hop == 15
    assert settings.topics.frames == "site.frames"
    assert settings.topics.anomalies == "pose.anomalies"
    via_env = load_settings(environ={"BARUNRUN_CONFIG": str(config)})
    assert via_env.window.hop == 5


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[window]\nhop = 40\n", "hop (40) must not exceed size (30)"),
        ("[window]\nhopp = 4\n", "window.hopp: Extra inputs are not permitted"),
        ("[kafka]\nsecurity_protocol = 'SASL_SSL'\n", "sasl_username is empty"),
        ("[redis]\nurl = 'http://x'\n", "url must start with redis://"),
        ("[metrics]\nport = 'nine'\n", "metrics.port"),
        ("[model]\nbatch_sizes = [32, 0]\n", "batch_sizes must be positive integers"),
        ("[window\n", "not valid TOML"),
    ],
)
def test_bad_config_fails_fast_naming_what_to_fix(tmp_path: Path, toml: str, message: str) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(toml)
    with pytest.raises(ConfigError, match=r"invalid configuration|not valid TOML") as info:
        load_settings(config, environ={})
    assert message in str(info.value)


def test_missing_config_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.toml", environ={})


def test_secrets_from_environment_or_file_never_show(tmp_path: Path) -> None:
    secret_file = tmp_path / "redis_password"
    secret_file.write_text("s3cret-from-file\n")
    settings = load_settings(environ={
        "BARUNRUN_REDIS_PASSWORD_FILE": str(secret_file),
        "BARUNRUN_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
        "BARUNRUN_KAFKA_SASL_USERNAME": "barunrun",
        "BARUNRUN_KAFKA_SASL_PASSWORD": "kafka-s3cret",
    })
    assert settings.redis.password is not None
    assert settings.redis.password.get_secret_value() == "s3cret-from-file"
    options = settings.kafka.client_options()
    assert options["sasl_plain_password"] == "kafka-s3cret"
    assert options["sasl_mechanism"] == "PLAIN"
    shown = repr(settings) + str(settings.redacted())
    assert "s3cret" not in shown


def test_unreadable_secret_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read secret file"):
        load_settings(environ={"BARUNRUN_REDIS_PASSWORD_FILE": str(tmp_path / "missing")})


def test_overrides_are_validated_again() -> None:
    settings = load_settings(environ={})
    with pytest.raises(ConfigError, match="hop"):
        settings.with_overrides(window={"hop": 31})
