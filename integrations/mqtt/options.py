"""The integration's options, read from the mqtt_* settings, and the broker client they make."""

from __future__ import annotations

import secrets
import socket
import ssl
from dataclasses import dataclass, field, fields

import aiomqtt

from integrations.mqtt.topics import Topics, slug
from nvr_hub.integration import HubServices

# Settings whose change needs a new broker connection (the others apply in place).
_CONNECTION_FIELDS = (
    "host",
    "port",
    "username",
    "password",
    "client_id",
    "protocol",
    "topic_prefix",
    "tls",
    "tls_ca",
    "tls_cert",
    "tls_key",
    "tls_insecure",
    "discovery",
    "discovery_prefix",
)
KEEPALIVE = 30


@dataclass(frozen=True)
class MqttOptions:
    """Everything the integration reads from settings, validated there."""

    enabled: bool
    host: str
    port: int
    username: str
    password: str = field(repr=False)
    client_id: str
    protocol: str
    topic_prefix: str
    tls: bool
    tls_ca: str
    tls_cert: str
    tls_key: str
    tls_insecure: bool
    discovery: bool
    discovery_prefix: str
    stats_interval: int
    motion_off_delay: int
    base_url: str
    snapshot_interval: int

    @classmethod
    def read(cls, hub: HubServices) -> MqttOptions:
        """The current settings; an empty base URL becomes this machine's web UI address."""
        get = hub.settings.get
        values = {
            f.name: get(f"mqtt_{f.name}") for f in fields(cls) if f.name != "snapshot_interval"
        }
        if not values["base_url"]:
            values["base_url"] = f"http://{socket.gethostname()}:{hub.config.server.port}"
        return cls(**values, snapshot_interval=get("snapshot_interval"))

    @property
    def topics(self) -> Topics:
        """Topic names under these prefixes."""
        return Topics(self.topic_prefix, self.discovery_prefix)

    def same_connection(self, other: MqttOptions) -> bool:
        """Whether `other` can keep this one's broker connection."""
        return all(getattr(self, name) == getattr(other, name) for name in _CONNECTION_FIELDS)


class _ClosingSSLSocket(ssl.SSLSocket):
    """Closes itself when the handshake fails (paho would leave it to the garbage collector)."""

    def do_handshake(self, block: bool = False) -> None:
        try:
            super().do_handshake(block)
        except BaseException:
            self.close()
            raise


def tls_context(options: MqttOptions) -> ssl.SSLContext | None:
    """The TLS context for the broker, or None without TLS; reads files, so blocking."""
    if not options.tls:
        return None
    context = ssl.create_default_context(cafile=options.tls_ca or None)
    context.sslsocket_class = _ClosingSSLSocket
    if options.tls_insecure:
        # A self-signed broker without its CA at hand: encrypt, but verify nothing.
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if options.tls_cert:
        context.load_cert_chain(options.tls_cert, options.tls_key or None)
    return context


def default_client_id(options: MqttOptions) -> str:
    """A client id unique to this process, recognisable in the broker's log."""
    return f"{slug(options.topic_prefix)}-{secrets.token_hex(4)}"


def make_client(
    options: MqttOptions, context: ssl.SSLContext | None, client_id: str
) -> aiomqtt.Client:
    """A broker client whose last will marks the hub offline."""
    v5 = options.protocol == "5"
    return aiomqtt.Client(
        options.host,
        options.port,
        username=options.username or None,
        password=options.password or None,
        identifier=options.client_id or client_id,
        protocol=aiomqtt.ProtocolVersion.V5 if v5 else aiomqtt.ProtocolVersion.V311,
        will=aiomqtt.Will(options.topics.availability, b"offline", qos=1, retain=True),
        clean_session=None if v5 else True,
        tls_context=context,
        keepalive=KEEPALIVE,
        timeout=10,
        # Without it a small publish after a large one waits for a delayed ACK (~40 ms).
        socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
    )
