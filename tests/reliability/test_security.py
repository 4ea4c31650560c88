"""Security: Kafka SASL/SSL settings, a SASL client against a plaintext broker, and secrets.

What is exercised where (docs/reliability.md has the table):

* Redis keys from validated ids only: test_bad_input (injection ids dead-lettered, SCAN finds
  no key outside the prefix);
* Keras safe mode: test_model_faults (a Lambda model with a payload is refused; unsafe loading
  would run it);
* Redis ``requirepass`` end to end, with the password from the environment and from a file,
  never in the log, /metrics or health answers: test_redis_faults;
* Kafka SASL/PLAIN: the embedded broker (tansu) cannot run a SASL listener for us (its users
  are created over an unauthenticated connection and lost on restart), so SASL runs against
  Apache Kafka in docker-compose. Here: the settings give kafka-python the right options, and a
  SASL client against the plaintext broker ends with a non-zero exit and one clear line within
  its start-up timeout (not a hang), showing neither the SASL nor the Redis password.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer

from consumer.errors import BrokerUnavailable, ConfigError
from consumer.serve.kafka_io import KafkaFrameSource
from consumer.settings import load_settings
from consumer.stack import free_port
from tests.support.reliability.sizes import suite_size

pytestmark = [pytest.mark.reliability, pytest.mark.timeout(suite_size().seconds_budget)]

SASL_SECRET = "rel-sasl-pw-2b7d41"
REDIS_SECRET = "rel-redis-pw-91ce0a"
STARTUP_TIMEOUT_S = 8
EXIT_SERVICE_UNAVAILABLE = 3


def test_settings_give_kafka_python_its_sasl_and_ssl_options(tmp_path: Path) -> None:
    secret_file = tmp_path / "sasl"
    secret_file.write_text(SASL_SECRET + "\n")
    ca = tmp_path / "ca.pem"
    environ = {
        "BARUNRUN_KAFKA_BOOTSTRAP": "k1:9093, k2:9093",
        "BARUNRUN_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "BARUNRUN_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
        "BARUNRUN_KAFKA_SASL_USERNAME": "barunrun",
        "BARUNRUN_KAFKA_SASL_PASSWORD_FILE": str(secret_file),
        "BARUNRUN_KAFKA_SSL_CAFILE": str(ca),
    }
    settings = load_settings(environ=environ)
    options = settings.kafka.client_options()
    assert options == {
        "bootstrap_servers": ["k1:9093", "k2:9093"], "client_id": "barunrun",
        "security_protocol": "SASL_SSL", "request_timeout_ms": 30000,
        "sasl_mechanism": "SCRAM-SHA-512", "sasl_plain_username": "barunrun",
        "sasl_plain_password": SASL_SECRET, "ssl_check_hostname": True, "ssl_cafile": str(ca),
    }
    for client in (KafkaConsumer, KafkaProducer, KafkaAdminClient):  # names kafka-python takes
        assert set(options) <= set(client.DEFAULT_CONFIG), client
    plain = load_settings(environ={}).kafka.client_options()
    assert not {k for k in plain if k.startswith(("sasl_", "ssl_"))}
    assert SASL_SECRET not in repr(settings) and SASL_SECRET not in str(settings.redacted())
    with pytest.raises(ConfigError, match="sasl_username"):
        load_settings(environ={"BARUNRUN_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT"})


@pytest.mark.parametrize("protocol, named", [
    ("SASL_PLAINTEXT", "asked for SASL_PLAINTEXT PLAIN: check that the listener"),
    ("SSL", "asked for SSL: check that the listener"),
    ("PLAINTEXT", None),
])
def test_a_failed_bootstrap_names_the_security_protocol_it_asked_for(
    protocol: str, named: str | None
) -> None:
    """Regression: it said only "did not answer", though the broker refused the handshake."""
    settings = load_settings(environ={
        "BARUNRUN_KAFKA_BOOTSTRAP": f"127.0.0.1:{free_port()}",  # nothing listens there
        "BARUNRUN_KAFKA_SECURITY_PROTOCOL": protocol,
        "BARUNRUN_KAFKA_SASL_USERNAME": "barunrun",
        "BARUNRUN_KAFKA_SASL_PASSWORD": SASL_SECRET,
    })
    with pytest.raises(BrokerUnavailable, match="did not answer within 1 s") as failure:
        KafkaFrameSource.connect(settings, startup_timeout_s=1)
    message = str(failure.value)
    assert (named in message) if named else "asked for" not in message
    assert SASL_SECRET not in message


def test_a_sasl_client_against_the_plaintext_broker_fails_in_one_clear_line(
    settings_factory, model_dir, serve_process, own_redis, tmp_path: Path
) -> None:
    server = own_redis(password=REDIS_SECRET)
    secret_file = tmp_path / "sasl-password"
    secret_file.write_text(SASL_SECRET + "\n")
    settings = settings_factory(partitions=1, redis={"url": server.url})
    consumer = serve_process(settings, model_dir, "sasl", {
        "BARUNRUN_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
        "BARUNRUN_KAFKA_SASL_MECHANISM": "PLAIN",
        "BARUNRUN_KAFKA_SASL_USERNAME": "barunrun",
        "BARUNRUN_KAFKA_SASL_PASSWORD_FILE": str(secret_file),
        "BARUNRUN_REDIS_PASSWORD": REDIS_SECRET,
    }, args=("--startup-timeout", str(STARTUP_TIMEOUT_S))).start()

    # The model loads first (TensorFlow: seconds); then Redis answers and Kafka is tried.
    deadline = time.monotonic() + 180
    while consumer.alive() and "model ready" not in consumer.current_log():
        assert time.monotonic() < deadline, consumer.tail()
        time.sleep(0.1)
    model_ready = time.monotonic()
    code = consumer.wait(180)
    waited = time.monotonic() - model_ready

    log = consumer.full_log()
    last = log.strip().splitlines()[-1]
    assert code == EXIT_SERVICE_UNAVAILABLE, log[-2000:]
    assert re.fullmatch(r"barunrun serve: error: kafka at \S+ did not answer within "
                        rf"{STARTUP_TIMEOUT_S} s .*asked for SASL_PLAINTEXT PLAIN.*", last), last
    assert waited <= STARTUP_TIMEOUT_S + 30  # bounded by the start-up timeout, not a hang
    assert SASL_SECRET not in log and REDIS_SECRET not in log
