"""The node's configuration: one frozen `NodeConfig`, loaded once in `main` from a YAML file.

Every key has a default, so an empty file (or none) gives party 9999 on DESIGN §5's ports.
Unknown keys are refused, so a typo never passes silently.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from fateflow_grpc.errors import InvalidArgument


@dataclass(frozen=True)
class Route:
    """How this node's proxy reaches another party: that party's proxy address."""

    address: str


@dataclass(frozen=True)
class NodeConfig:
    """One party's node: which party it is, where it listens, where it keeps its state."""

    party_id: int = 9999
    #: The address the node's three servers bind to.
    host: str = "127.0.0.1"
    grpc_port: int = 9360
    http_port: int = 9380
    proxy_port: int = 9370
    #: Holds the SQLite database (unless `database_url` says otherwise), tables and logs.
    data_dir: Path = Path("var/9999")
    #: A SQLAlchemy URL; empty means SQLite at `<data_dir>/fateflow.db`.
    database_url: str = ""
    #: FATE-Board's address, used to build the `board_url` of submitted jobs.
    board_url: str = "http://127.0.0.1:8080"
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
    #: Accept the test-only `Noop` module (for tests and benchmarks of the scheduler).
    test_components: bool = False

    def route(self, party_id: int) -> Route | None:
        return self.routes.get(party_id, self.default_route)

    @property
    def proxy_address(self) -> str:
        return f"{self.host}:{self.proxy_port}"

    @property
    def database(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'fateflow.db'}"

    @property
    def grpc_address(self) -> str:
        return f"{self.host}:{self.grpc_port}"

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> NodeConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise InvalidArgument(f"unknown node config keys: {', '.join(unknown)}", keys=unknown)
        converted: dict[str, Any] = dict(values)
        try:
            if "data_dir" in values:
                converted["data_dir"] = Path(values["data_dir"])
            if "routes" in values:
                converted["routes"] = {
                    int(party): Route(**route) for party, route in (values["routes"] or {}).items()
                }
            if values.get("default_route"):
                converted["default_route"] = Route(**values["default_route"])
            config = cls(**converted)
        except (TypeError, ValueError, AttributeError) as error:
            raise InvalidArgument(f"bad node config: {error}") from error
        for name in (
            "party_id",
            "grpc_port",
            "http_port",
            "proxy_port",
            "max_running_jobs",
            "workers",
        ):
            if not isinstance(getattr(config, name), int):
                raise InvalidArgument(f"node config key {name} must be an integer", key=name)
        return config

    @classmethod
    def load(cls, path: Path) -> NodeConfig:
        values = yaml.safe_load(path.read_text()) or {}
        if not isinstance(values, dict):
            raise InvalidArgument(f"node config {path} must be a YAML mapping", path=path)
        return cls.from_dict(values)
