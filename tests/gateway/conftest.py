"""Fixtures: a fake core (or the real one), the gateway in front of it, and an HTTP client.

The gateway runs in its own thread and event loop on port 0, as it would in production; tests
talk to it over real sockets with aiohttp's client.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from multidict import CIMultiDictProxy

from gateway.app import GATEWAY, Gateway, create_app
from tests.gateway.fake_core import FakeCore


class RunningGateway:
    """The gateway app served on 127.0.0.1:<free port> from a background event loop."""

    def __init__(self, core_target: str, **options: Any) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.runner, self.port = self._run(self._start(core_target, options))
        self.url = f"http://127.0.0.1:{self.port}"

    @property
    def gateway(self) -> Gateway:
        return self.runner.app[GATEWAY]

    def _run(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(60)

    async def _start(self, core_target: str, options: dict[str, Any]) -> tuple[web.AppRunner, int]:
        app = await create_app(core_target, startup_timeout=20, **options)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        return runner, runner.addresses[0][1]

    def close(self) -> None:
        self._run(self.runner.cleanup())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@dataclass
class Reply:
    status: int
    headers: CIMultiDictProxy[str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Client:
    """A blocking HTTP client for tests (each call runs aiohttp's client in a fresh loop)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def request(self, method: str, path: str, **kwargs: Any) -> Reply:
        async def go() -> Reply:
            async with (
                aiohttp.ClientSession() as session,
                session.request(method, self.base_url + path, **kwargs) as response,
            ):
                return Reply(response.status, response.headers, await response.read())

        return asyncio.run(go())

    def post(self, path: str, **kwargs: Any) -> Reply:
        return self.request("POST", path, **kwargs)

    def get(self, path: str, **kwargs: Any) -> Reply:
        return self.request("GET", path, **kwargs)


@pytest.fixture(scope="session")
def fake_core_session() -> Iterator[FakeCore]:
    core = FakeCore().start()
    yield core
    core.stop()


@pytest.fixture
def core(fake_core_session: FakeCore) -> Iterator[FakeCore]:
    fake_core_session.reset()
    yield fake_core_session
    fake_core_session.reset()


@pytest.fixture(scope="session")
def running_gateway(fake_core_session: FakeCore) -> Iterator[RunningGateway]:
    gateway = RunningGateway(fake_core_session.target)
    yield gateway
    gateway.close()


@pytest.fixture
def client(running_gateway: RunningGateway, core: FakeCore) -> Client:
    return Client(running_gateway.url)
