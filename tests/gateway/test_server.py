"""Starting the gateway: waiting for the core, giving up on it, running as `python -m gateway`."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from gateway.app import create_app
from gateway.reflection import ReflectionError
from tests.gateway.conftest import Client, RunningGateway
from tests.gateway.fake_core import FakeCore

ROOT = Path(__file__).resolve().parents[2]


def test_the_gateway_waits_for_a_core_that_starts_late() -> None:
    core = FakeCore()  # bound, not serving yet
    timer = threading.Timer(0.5, core.start)
    timer.start()
    try:
        gateway = RunningGateway(core.target)
        try:
            reply = Client(gateway.url).post("/v1/job/list/job", json={})
            assert reply.json()["retcode"] == 0
        finally:
            gateway.close()
    finally:
        timer.join()
        core.stop()


def test_the_gateway_gives_up_on_a_core_that_never_answers() -> None:
    core = FakeCore()  # bound, never serving
    began = time.monotonic()
    try:
        with pytest.raises(ReflectionError, match="did not answer"):
            asyncio.run(create_app(core.target, startup_timeout=1))
    finally:
        core.stop()
    assert time.monotonic() - began < 10


def test_python_m_gateway(fake_core_session: FakeCore) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway", "--core", fake_core_session.target, "--port", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("listening on http://127.0.0.1:"), line
        reply = Client(line.split()[-1]).post("/v1/job/query", json={"job_id": "j"})
        assert reply.json()["retcode"] == 0
        process.send_signal(signal.SIGTERM)
        assert process.wait(10) == 0
    finally:
        process.kill()
        process.wait()
