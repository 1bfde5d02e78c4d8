"""The node's configuration: one frozen `NodeConfig`, loaded once in `main` from a YAML file.

Every key has a default, so an empty file (or none) gives party 9999 on DESIGN §5's ports.
Unknown keys are refused, so a typo never passes silently.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import re
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from fateflow_grpc.errors import InvalidArgument

#: The longest replica name the database keeps.
REPLICA_NAME_LENGTH = 128


class TlsMode(enum.StrEnum):
    """How one proxy link is secured (see `party_proxy/security.py` for what each proves)."""

    PLAINTEXT = "plaintext"
    TLS = "tls"
    #: Mutual TLS: both sides present a certificate, and the client's names its party.
    MTLS = "mtls"


@dataclass(frozen=True)
class Tls:
    """TLS settings of one side of a proxy link; PEM files.

    A route (client side) uses `ca` to verify the server (none: the system's roots), presents
    `cert`/`key` under mtls, and checks that the server's certificate carries `server_name`
    (empty: the host of the route's address). The proxy's own port (server side) presents
    `cert`/`key`, and under mtls requires a client certificate signed by `ca`.
    """

    mode: TlsMode = TlsMode.PLAINTEXT
    ca: Path | None = None
    cert: Path | None = None
    key: Path | None = None
    server_name: str = ""

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Tls:
        paths = {name: Path(values[name]) for name in ("ca", "cert", "key") if values.get(name)}
        return cls(**{**values, "mode": TlsMode(values.get("mode", "plaintext")), **paths})


@dataclass(frozen=True)
class Route:
    """How this node's proxy reaches another party: that party's proxy address, and how.

    A route may name more addresses (`addresses:` in the config) where the party is served too:
    the proxy goes to the next one when one is unavailable. The route of the proxy's own party,
    when there is one, lists the cores of the party's replicas (docs/operations.md).
    """

    address: str
    tls: Tls = field(default_factory=Tls)
    #: Every address, when the config gives several (`address` is then the first).
    addresses: tuple[str, ...] = ()

    @property
    def targets(self) -> tuple[str, ...]:
        """The addresses to try, in turn."""
        return self.addresses or (self.address,)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Route:
        unknown = sorted(set(values) - {"address", "addresses", "tls"})
        if unknown:
            raise KeyError(f"unknown route keys: {', '.join(unknown)}")
        if "addresses" not in values:
            return cls(values["address"], Tls.from_dict(values.get("tls") or {}))
        addresses = values["addresses"]
        if isinstance(addresses, str) or not addresses or "address" in values:
            raise TypeError("a route has one address, or a list of addresses")
        listed = tuple(map(str, addresses))
        return cls(listed[0], Tls.from_dict(values.get("tls") or {}), listed)


@dataclass(frozen=True)
class Security:
    """How this party treats job settings that may expose a party's data (docs/security.md)."""

    #: Refuse them, and keys shorter than 2048 bits, instead of warning about them.
    strict: bool = False

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Security:
        unknown = sorted(set(values) - {f.name for f in dataclasses.fields(cls)})
        if unknown:
            raise InvalidArgument(f"unknown security keys: {', '.join(unknown)}", keys=unknown)
        security = cls(**values)
        if not isinstance(security.strict, bool):
            raise InvalidArgument("security strict must be true or false", key="strict")
        return security


@dataclass(frozen=True)
class NodeConfig:
    """One party's node: which party it is, where it listens, where it keeps its state."""

    party_id: int = 9999
    #: The address the node's three servers bind to.
    host: str = "127.0.0.1"
    grpc_port: int = 9360
    #: Where the core serves gRPC instead of `host:grpc_port`, and where the gateway and the
    #: proxy reach it: `unix:/path` keeps it off the network (`fateflow standalone` does so).
    core_address: str = ""
    http_port: int = 9380
    proxy_port: int = 9370
    #: Holds the SQLite database (unless `database_url` says otherwise), tables and logs.
    data_dir: Path = Path("var/9999")
    #: A SQLAlchemy URL; empty means SQLite at `<data_dir>/fateflow.db`.
    database_url: str = ""
    # --- The table store: nodes that name the same `table_dir` and `table_database_url` share
    # their tables (the parties of `fateflow standalone`, replicas of one party).
    #: Where tables' Arrow files are. Empty: `<data_dir>/tables`.
    table_dir: Path | None = None
    #: The database of the tables' meta rows. Empty: the node's own database.
    table_database_url: str = ""
    #: The board that the `board_url` of each submitted job points into; empty: this node's
    #: own board, `http://<host>:<http_port>/board`.
    board_url: str = ""
    # --- Data jobs: files on the node's own disk (`/v1/data/upload` with use_local_data 0 reads
    # one, `/v1/data/download` writes one). Paths must lie under one of these directories, after
    # symlinks are resolved; a relative path is taken under the first. None: no such files.
    server_file_dirs: tuple[Path, ...] = ()
    #: Party id -> the proxy of that party; the only addresses of other parties a node knows.
    routes: dict[int, Route] = field(default_factory=dict)
    #: Where calls for a party without a route of its own go (a gateway party, say).
    default_route: Route | None = None
    #: Jobs this party runs at once; more wait, FIFO (FATE-Flow 1.4's MAX_CONCURRENT_JOB_RUN).
    max_running_jobs: int = 5
    #: How often an initiator collects the tasks of every party of its running jobs.
    heartbeat_interval_s: float = 1.0
    #: A party silent this long fails the jobs it takes part in.
    heartbeat_timeout_s: float = 30.0
    #: Idle worker processes kept ready for the next task.
    workers: int = 2
    #: Tasks this node runs at once; more wait for a slot here or on another replica.
    task_slots: int = 32
    # --- Replicas: several nodes of one party on one PostgreSQL/MySQL database
    # (docs/operations.md). Each has a lease in the database that its heartbeat renews.
    #: This node's name among the party's replicas. Empty: `<host name>:<core address>`.
    replica_name: str = ""
    #: How long a replica's lease lasts without a heartbeat: a replica silent this long is
    #: gone, and the others take over its jobs and fail its tasks (which then run again).
    replica_lease_s: float = 10.0
    #: Accept the test-only `Noop` module (for tests and benchmarks of the scheduler).
    test_components: bool = False
    #: Where `/v1/model/store` keeps models and `restore` finds them: a directory, or a
    #: SQLAlchemy URL (a table of archive slices). Empty: the directory `<data_dir>/model_store`.
    model_store_address: str = ""
    #: FATE-Serving addresses (host:port) that `/v1/model/load` and `bind` publish to, unless
    #: the request names its own.
    servings: tuple[str, ...] = ()
    #: Warnings or refusals for job settings that may expose a party's data.
    security: Security = field(default_factory=Security)

    # --- The party proxy (`party_proxy/`): its two listeners, party proofs, mailboxes. ----------
    #: TLS of the proxy's public port (`proxy_port`, the one other parties reach).
    proxy_tls: Tls = field(default_factory=Tls)
    #: Party id -> shared secret. Signs (HMAC-SHA256) what this proxy sends to that party and
    #: proves what it receives from it, on links where no client certificate names the party.
    party_secrets: dict[int, str] = field(default_factory=dict)
    #: Where this node's own core and tasks reach the proxy (outgoing calls, Pull, CleanJob);
    #: no other party can. Empty: the Unix socket `<data_dir>/proxy.sock`.
    proxy_local_address: str = ""
    #: Federation objects not yet read are held in memory up to this many bytes in total; all
    #: are on disk in `mailbox_dir` (empty: `<data_dir>/mailbox`) before they are acknowledged.
    mailbox_memory_bytes: int = 64 * 1024 * 1024
    mailbox_dir: Path | None = None
    #: Also serve the node's public API (`fateflow.v1`) on the proxy's public port.
    proxy_public_api: bool = False
    #: Pass calls and objects between other parties on to the route of their destination (a
    #: proxy other parties use as their default route); they keep their senders' proofs.
    proxy_relay: bool = False
    # --- Table computing on Spark, for jobs that ask for it (`computing_engine: SPARK`). -----
    #: The Spark master: `local[2]`, `spark://host:7077`, `yarn`, ...; empty: no Spark here.
    spark_master: str = ""
    #: Spark settings of this party's sessions (`spark.executor.memory`, ...).
    spark_conf: dict[str, str] = field(default_factory=dict)

    def route(self, party_id: int) -> Route | None:
        return self.routes.get(party_id, self.default_route)

    @property
    def board_address(self) -> str:
        return self.board_url or f"http://{self.host}:{self.http_port}/board"

    @property
    def proxy_address(self) -> str:
        return f"{self.host}:{self.proxy_port}"

    @property
    def local_proxy_address(self) -> str:
        return self.proxy_local_address or f"unix:{self.data_dir.resolve() / 'proxy.sock'}"

    @property
    def mailbox_path(self) -> Path:
        return self.mailbox_dir or self.data_dir / "mailbox"

    @property
    def database(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'fateflow.db'}"

    @property
    def tables_path(self) -> Path:
        return self.table_dir or self.data_dir / "tables"

    @property
    def table_database(self) -> str:
        return self.table_database_url or self.database

    @property
    def model_store(self) -> str:
        return self.model_store_address or str(self.data_dir / "model_store")

    @property
    def grpc_address(self) -> str:
        return self.core_address or f"{self.host}:{self.grpc_port}"

    @property
    def worker_record(self) -> Path:
        """Where the executor records its processes: one file per replica sharing data_dir."""
        return self.data_dir / f"workers.{re.sub(r'[^A-Za-z0-9_.-]', '_', self.replica)}.json"

    @property
    def replica(self) -> str:
        if self.replica_name:
            return self.replica_name
        name = f"{socket.gethostname()}:{self.grpc_address}"
        if len(name) > REPLICA_NAME_LENGTH:  # a long Unix socket path
            digest = hashlib.sha256(name.encode()).hexdigest()[:16]
            name = f"{socket.gethostname()[: REPLICA_NAME_LENGTH - 17]}:{digest}"
        return name

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> NodeConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise InvalidArgument(f"unknown node config keys: {', '.join(unknown)}", keys=unknown)
        converted: dict[str, Any] = dict(values)
        try:
            if "server_file_dirs" in values:
                directories = values["server_file_dirs"] or ()
                if isinstance(directories, str):
                    raise TypeError("server_file_dirs must be a list of directories")
                converted["server_file_dirs"] = tuple(map(Path, directories))
            if "servings" in values:
                servings = values["servings"] or ()
                if isinstance(servings, str):
                    raise TypeError("servings must be a list of host:port addresses")
                converted["servings"] = tuple(map(str, servings))
            for name in ("data_dir", "mailbox_dir", "table_dir"):
                if values.get(name):
                    converted[name] = Path(values[name])
            if "routes" in values:
                converted["routes"] = {
                    int(party): Route.from_dict(route)
                    for party, route in (values["routes"] or {}).items()
                }
            if values.get("default_route"):
                converted["default_route"] = Route.from_dict(values["default_route"])
            if values.get("proxy_tls"):
                converted["proxy_tls"] = Tls.from_dict(values["proxy_tls"])
            if values.get("security"):
                converted["security"] = Security.from_dict(values["security"])
            if "spark_conf" in values:
                converted["spark_conf"] = {
                    str(name): str(value) for name, value in (values["spark_conf"] or {}).items()
                }
            if "party_secrets" in values:
                converted["party_secrets"] = {
                    int(party): str(secret)
                    for party, secret in (values["party_secrets"] or {}).items()
                }
            config = cls(**converted)
        except (TypeError, ValueError, AttributeError, KeyError) as error:
            raise InvalidArgument(f"bad node config: {error}") from error
        for name in (
            "party_id",
            "grpc_port",
            "http_port",
            "proxy_port",
            "max_running_jobs",
            "workers",
            "task_slots",
            "mailbox_memory_bytes",
        ):
            if not isinstance(getattr(config, name), int):
                raise InvalidArgument(f"node config key {name} must be an integer", key=name)
        for name in ("heartbeat_interval_s", "heartbeat_timeout_s", "replica_lease_s"):
            value = getattr(config, name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise InvalidArgument(f"node config key {name} must be a number", key=name)
        if (
            not isinstance(config.replica_name, str)
            or len(config.replica_name) > REPLICA_NAME_LENGTH
        ):
            raise InvalidArgument(
                f"node config key replica_name must be text of at most {REPLICA_NAME_LENGTH} "
                "characters",
                key="replica_name",
            )
        if config.task_slots < 1 or config.replica_lease_s < 3 * config.heartbeat_interval_s:
            raise InvalidArgument(
                "node config needs task_slots of at least 1, and replica_lease_s of at least "
                "three heartbeat_interval_s",
                key="replica_lease_s",
            )
        return config

    @classmethod
    def load(cls, path: Path) -> NodeConfig:
        values = yaml.safe_load(path.read_text()) or {}
        if not isinstance(values, dict):
            raise InvalidArgument(f"node config {path} must be a YAML mapping", path=path)
        return cls.from_dict(values)
