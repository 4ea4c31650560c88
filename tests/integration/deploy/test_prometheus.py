"""Debian's Prometheus scrapes a real consumer and a real gateway fed by the simulator.

Every PromQL expression of the Grafana dashboard must return data; every alert rule must
evaluate, and every series it reads must exist; two alerts are provoked for real (a refused
model reload, a dead-letter spike) and must fire, while "consumer down" must not.
promtool checks the shipped Prometheus config and rules.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from kafka import KafkaProducer

from consumer.gateway.auth import issue_token
from consumer.gateway.poster import GatewayPoster
from consumer.gateway.runtime import GatewayRuntime
from consumer.gateway.server import GatewayServer
from consumer.stack import ManagedProcess, free_port
from producer_sim.publish import stream_runners

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
PROMETHEUS_DIR = ROOT / "config" / "prometheus"
DASHBOARD = ROOT / "config" / "grafana" / "dashboards" / "barunrun.json"


def dashboard_expressions() -> list[str]:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    return [target["expr"] for panel in panels for target in panel["targets"]]


def alert_rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load((PROMETHEUS_DIR / "alerts.yml").read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def series_names(expr: str) -> set[str]:
    return set(re.findall(r"\b(barunrun_[a-z_]+|up)\b", expr))


@pytest.mark.parametrize("check", ["config", "rules"])
def test_promtool_accepts_the_shipped_files(check: str) -> None:
    target = "prometheus.yml" if check == "config" else "alerts.yml"
    result = subprocess.run(
        ["promtool", "check", check, str(PROMETHEUS_DIR / target)],
        capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


class Prometheus:
    def __init__(self, url: str) -> None:
        self.url = url

    def query(self, expr: str) -> dict[str, Any]:
        response = httpx.get(f"{self.url}/api/v1/query", params={"query": expr}, timeout=10)
        body = response.json()
        assert body["status"] == "success", f"{expr}: {body}"
        return body["data"]

    def has_data(self, expr: str) -> bool:
        return bool(self.query(expr)["result"])

    def firing(self) -> set[str]:
        alerts = httpx.get(f"{self.url}/api/v1/alerts", timeout=10).json()["data"]["alerts"]
        return {a["labels"]["alertname"] for a in alerts if a["state"] == "firing"}


@pytest.fixture
def prometheus(tmp_path: Path) -> Iterator[Callable[[str, str], Prometheus]]:
    started: list[ManagedProcess] = []

    def start(target: str, gateway_target: str) -> Prometheus:
        config_dir = tmp_path / "prometheus"
        config_dir.mkdir()
        # The shipped rules, with `for:` cut to zero so that a test need not wait minutes.
        rules = re.sub(r"(?m)^(\s+)for: \S+$", r"\1for: 0s", (PROMETHEUS_DIR / "alerts.yml")
                       .read_text())
        (config_dir / "alerts.yml").write_text(rules)
        config = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())
        config["global"] = {"scrape_interval": "1s", "evaluation_interval": "1s"}
        # Docker's DNS is compose's; here there is one consumer and one gateway, static.
        for job, address in zip(config["scrape_configs"], (target, gateway_target), strict=True):
            del job["dns_sd_configs"]
            job["static_configs"] = [{"targets": [address]}]
        (config_dir / "prometheus.yml").write_text(yaml.safe_dump(config))
        port = free_port()
        process = ManagedProcess("prometheus", [
            shutil.which("prometheus") or "prometheus",
            f"--config.file={config_dir / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ], tmp_path / "prometheus.log")
        process.start()
        started.append(process)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/-/ready", timeout=1).status_code == 200:
                    return Prometheus(url)
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or not process.alive():
                pytest.fail(f"prometheus did not start:\n{process.tail()}")
            time.sleep(0.2)

    yield start
    for process in started:
        process.stop()


def _copy_model(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target


def test_dashboard_and_alert_queries_return_data_from_a_real_consumer(
    model_dir: Path, tmp_path: Path, settings_factory, consumers, prometheus, serve_kit,
    request: pytest.FixtureRequest,
) -> None:
    served = _copy_model(Path(model_dir), tmp_path / "model")
    settings = settings_factory(partitions=2, model={"dir": str(served),
                                                     "reload_interval_s": 0.5},
                                gateway={"jwt_secret": "prometheus-test-secret-0123456789ab"})
    running = consumers(settings)
    gateway = GatewayServer(GatewayRuntime.build(settings, startup_timeout_s=20)).start()
    request.addfinalizer(gateway.stop)
    prom = prometheus(f"127.0.0.1:{running.service.port}", f"127.0.0.1:{gateway.port}")
    # First traffic, then a baseline scrape, then more traffic: rate() needs an increase
    # between two scrapes, and the consumer drains a fast stream within one.
    first = stream_runners(settings, runners=6, duration_s=6, fault_rate=0.5,
                           realtime=False, seed=21, user_prefix="prom")
    serve_kit.wait_for(
        lambda: running.value("barunrun_frames_consumed_total") >= first.frames_sent, 120,
        "the first frames",
    )
    serve_kit.wait_for(lambda: prom.has_data("barunrun_windows_scored_total > 0"), 60,
                       "prometheus to scrape the consumer")
    # The second half of the traffic goes through the gateway, as phones would send it.
    poster = GatewayPoster(gateway.url, lambda user: issue_token(settings.gateway, user, 600))
    second = stream_runners(settings, runners=6, duration_s=6, fault_rate=0.5,
                            realtime=False, seed=22, user_prefix="prom2", producer=poster)
    # Bad frames at well over the 2% alert threshold: the dead-letter spike must fire.
    producer = KafkaProducer(**settings.kafka.client_options())
    for i in range(300):
        value = b'{"user_id": "prom-bad"' if i % 2 else b"\xff\xfe not json"
        producer.send(settings.topics.frames, key=b"prom-bad", value=value)
    producer.flush()
    producer.close()
    consumed = first.frames_sent + second.frames_sent + 300
    serve_kit.wait_for(
        lambda: running.value("barunrun_frames_consumed_total") >= consumed, 120, "all frames"
    )
    serve_kit.wait_for(
        lambda: prom.has_data(f"barunrun_frames_consumed_total >= {consumed}"), 60,
        "prometheus to scrape the drained consumer",
    )
    time.sleep(3)  # a few more scrapes so that every rate() has samples on both sides

    empty = [expr for expr in dashboard_expressions() if not prom.has_data(expr)]
    assert not empty, f"dashboard queries without data: {empty}"

    for rule in alert_rules():
        prom.query(rule["expr"])  # evaluates (status success) with these series present
        missing = [name for name in series_names(rule["expr"])
                   if not prom.has_data(f'count({{__name__="{name}"}})')]
        assert not missing, f"{rule['alert']} reads series that do not exist: {missing}"

    # A corrupt model pushed for hot reload: refused, alert fires, the old model serves on.
    for weights in served.glob("*.keras"):
        weights.write_bytes(b"not a keras file")
    serve_kit.wait_for(lambda: "BarunRunModelReloadRefused" in prom.firing(), 60,
                       "BarunRunModelReloadRefused to fire")
    serve_kit.wait_for(lambda: "BarunRunDeadLetterSpike" in prom.firing(), 60,
                       "BarunRunDeadLetterSpike to fire")
    firing = prom.firing()
    assert "BarunRunConsumerDown" not in firing
    assert "BarunRunModelNotLoaded" not in firing
    assert "BarunRunGatewayDown" not in firing
