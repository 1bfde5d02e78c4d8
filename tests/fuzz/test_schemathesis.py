"""Schemathesis against a running `fateflow node`: every route of its /v1/openapi.json.

`st run` (schemathesis's own command, in a process of its own) sends each route the coverage
phase's boundary and type-breaking values, then fuzzed requests, both fitting the schema and
not. Every answer must be described by the document (FATE's envelope,
or the file for downloads), never an HTTP 5xx; and the node must still be healthy at the end.
The test prints the run's figures on one line (docs/reliability.md).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.multiparty.cluster import NodeProcess, start_parties, upload

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
#: Fuzzed requests per route and mode (fitting the schema, breaking it): enough to reach every
#: field, few enough that the run stays within a couple of minutes on two loaded cores.
MAX_EXAMPLES = 25
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "fate_envelope",  # ours, from envelope_check
)


@pytest.fixture
def node(tmp_path: Path) -> Iterator[NodeProcess]:
    node = start_parties(tmp_path, [9999])[9999]
    try:
        # A table and its upload job: list and table routes answer real rows, whose answers
        # the document must describe too.
        upload(node, "breast_hetero_guest")
        yield node
    finally:
        node.stop()


def openapi_url(node: NodeProcess) -> str:
    return f"http://127.0.0.1:{node.http_port}/v1/openapi.json"


def gateway_serves(node: NodeProcess) -> bool:
    try:
        with urllib.request.urlopen(openapi_url(node), timeout=10) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


def test_every_route_of_the_openapi_document(
    node: NodeProcess, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "schemathesis.json"
    # Deterministic: a run finds the same things every time, so CI does not fail by chance.
    command = [
        *("run", openapi_url(node)),
        *("--checks", ",".join(CHECKS), "--phases", "coverage,fuzzing"),
        *("--max-examples", str(MAX_EXAMPLES), "--generation-deterministic"),
        *("--workers", "1", "--request-timeout", "30", "--wait-for-schema", "30"),
        *("--report", "json", "--report-json-path", str(report), "--no-color"),
    ]
    run = subprocess.run(
        [sys.executable, "-m", "schemathesis.cli", *command],
        env={
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "SCHEMATHESIS_HOOKS": "tests.fuzz.envelope_check",
        },
        cwd=tmp_path,  # where it keeps its cache
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout[-20000:] + run.stderr[-5000:]
    figures = json.loads(report.read_text())
    routes, cases = figures["operations"], figures["test_cases"]
    with capsys.disabled():
        print(
            f"\nschemathesis: {routes['tested']} of {routes['total']} routes, "
            f"{cases['generated']} cases, {cases['unique_failures']} failures, "
            f"{len(figures['errors'])} errors in {figures['running_time']:.0f} s"
        )
    assert routes["tested"] == routes["total"] > 0
    assert cases["unique_failures"] == 0 and not figures["errors"]
    assert node.process is not None and node.process.poll() is None, "the node exited"
    assert node._serving(), "the node's core, proxy or gateway is not serving"
    assert gateway_serves(node), "the node's gateway does not serve its OpenAPI document"
