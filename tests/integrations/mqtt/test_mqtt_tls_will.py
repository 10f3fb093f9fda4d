"""TLS with a client certificate over MQTT 5, and the last will of a hub that is killed."""

from __future__ import annotations

import asyncio
import signal
import subprocess
from pathlib import Path

import pytest

from tests.conftest import Hub
from tests.e2e.hubproc import start_hub, wait_healthy
from tests.integrations.mqtt.brokers import PrivateBroker, Watcher, free_port, retained
from tests.integrations.mqtt.conftest import DEMO, Names, connects, enable, integration, until
from tests.integrations.mqtt.pki import make_pki


async def test_tls_client_certificate_mqtt5_and_insecure_flag(
    names: Names, hub: Hub, tmp_path: Path, private_brokers: list[PrivateBroker]
) -> None:
    pki = await asyncio.to_thread(make_pki, tmp_path)
    tls_port = free_port()
    broker = PrivateBroker(
        tmp_path,
        extra=(
            f"listener {tls_port} 127.0.0.1\ncafile {pki.ca}\ncertfile {pki.server_cert}\n"
            f"keyfile {pki.server_key}\nrequire_certificate true\n"
        ),
    )
    private_brokers.append(broker)
    await broker.run()
    availability = f"{names.prefix}/availability"
    async with Watcher(broker.port, f"{names.prefix}/#") as w:  # plain listener
        # Without our CA the broker's certificate is refused; the hub keeps trying.
        await enable(
            hub,
            names,
            port=tls_port,
            mqtt_tls=True,
            mqtt_protocol="5",
            mqtt_client_id="hub-under-test",
            mqtt_tls_cert=str(pki.client_cert),
            mqtt_tls_key=str(pki.client_key),
        )
        await asyncio.sleep(1.0)
        assert w.latest(availability) is None
        conn = integration(hub).bridge.conn  # type: ignore[union-attr]
        assert conn is not None and conn.connects == 0

        # With the CA: TLS, our client certificate, MQTT 5; commands come through.
        await hub.client.post("/api/settings", json={"mqtt_tls_ca": str(pki.ca)})
        await w.wait_payload(availability, b"online")
        assert (await hub.client.post("/api/streams", json={**DEMO, "enabled": False})).status
        await w.wait_payload(names.stream("cam", "recording"), b"ON")
        await w.publish(names.stream("cam", "recording/set"), "OFF")
        await w.wait_payload(names.stream("cam", "recording"), b"OFF")
        log = await asyncio.to_thread(broker.log.read_text)
        assert "as hub-under-test (p5," in log, log[-2000:]

        # The insecure flag: encrypted, nothing verified (a broker with a self-signed cert).
        await hub.client.post("/api/settings", json={"mqtt_tls_ca": "", "mqtt_tls_insecure": True})
        await w.wait_payload(availability, b"offline")
        await w.wait_payload(availability, b"online")


async def test_broker_credentials_are_used_and_never_logged(
    names: Names,
    hub: Hub,
    tmp_path: Path,
    private_brokers: list[PrivateBroker],
    caplog: pytest.LogCaptureFixture,
) -> None:
    passwords = tmp_path / "passwords"
    command = ["mosquitto_passwd", "-b", "-c", str(passwords), "hub", "right-secret-42"]
    await asyncio.to_thread(subprocess.run, command, check=True)
    broker = PrivateBroker(tmp_path, extra=f"allow_anonymous false\npassword_file {passwords}\n")
    private_brokers.append(broker)
    await broker.run()
    await enable(hub, names, port=broker.port, mqtt_username="hub", mqtt_password="wrong-secret-17")
    await until(lambda: "Not authori" in caplog.text)
    conn = integration(hub).bridge.conn  # type: ignore[union-attr]
    assert conn is not None and conn.connects == 0
    await hub.client.post("/api/settings", json={"mqtt_password": "right-secret-42"})
    await until(lambda: connects(hub) == 1)
    assert "secret" not in caplog.text
    assert (await (await hub.client.get("/api/settings")).json())["mqtt_password"] == "********"


async def test_last_will_marks_a_killed_hub_offline(
    tmp_path: Path, private_brokers: list[PrivateBroker]
) -> None:
    broker = PrivateBroker(tmp_path)
    private_brokers.append(broker)
    await broker.run()
    # Configured from the config file's `mqtt:` section alone (no settings written).
    config = tmp_path / "hub.yaml"
    await asyncio.to_thread(
        config.write_text,
        "first_run_admin: false\nstreams: []\n"
        f"mqtt:\n  enabled: true\n  port: {broker.port}\n  topic_prefix: willtest\n",
    )
    availability = "willtest/availability"

    async def run_hub() -> subprocess.Popen[str]:
        port = free_port()
        proc = await asyncio.to_thread(start_hub, tmp_path / "data", port, "--config", str(config))
        await asyncio.to_thread(wait_healthy, port)
        return proc

    async with Watcher(broker.port, "willtest/#") as w:
        proc = await run_hub()
        try:
            await w.wait_payload(availability, b"online", within=20)
            proc.send_signal(signal.SIGTERM)  # a clean stop says goodbye itself
            await w.wait_payload(availability, b"offline", within=20)
            assert await asyncio.to_thread(proc.wait, 20) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
            await asyncio.to_thread(proc.wait)
            assert proc.stdout is not None
            proc.stdout.close()

        w.clear()
        proc = await run_hub()
        try:
            await w.wait_payload(availability, b"online", within=20)
            proc.kill()  # no goodbye: only the broker's copy of the last will can tell
            await w.wait_payload(availability, b"offline", within=10)
        finally:
            await asyncio.to_thread(proc.wait)
            assert proc.stdout is not None
            proc.stdout.close()
    assert (await retained(broker.port, "willtest/#"))[availability] == b"offline"
    await until(lambda: broker.proc is not None and broker.proc.poll() is None)
