"""Fixtures shared by the layers: a real core on a free port over a real SQLite database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from fateflow_grpc.config import NodeConfig
from fateflow_grpc.node import Node
from fateflow_grpc.server import create_server
from fateflow_grpc.storage.database import Database, create_database


@pytest.fixture
def node_config(tmp_path: Path) -> NodeConfig:
    return NodeConfig(party_id=9999, data_dir=tmp_path / "node", grpc_port=0, test_components=True)


@pytest.fixture
def node_database(node_config: NodeConfig) -> Iterator[Database]:
    node_config.data_dir.mkdir(parents=True)
    database = create_database(node_config.database)
    yield database
    database.dispose()


@pytest.fixture
def node(node_config: NodeConfig, node_database: Database) -> Iterator[Node]:
    node = Node(node_config, node_database)
    yield node
    node.close()


@pytest.fixture
def core_address(node: Node) -> Iterator[str]:
    server, port = create_server(node, "127.0.0.1:0")
    server.start()
    yield f"127.0.0.1:{port}"
    server.stop(grace=None)


@pytest.fixture
def core_channel(core_address: str) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(core_address) as channel:
        yield channel
