"""Run the gateway on its own: `serve(...)`, and `python -m gateway` (see `__main__`)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from aiohttp import web

from gateway.app import create_app

log = logging.getLogger(__name__)


async def serve(
    core_target: str,
    host: str = "127.0.0.1",
    port: int = 9380,
    *,
    access_log: bool = False,
    on_ready: Callable[[int], None] | None = None,
) -> None:
    """Serve the gateway until cancelled; `port` 0 picks a free port, passed to `on_ready`."""
    app = await create_app(core_target)
    # The access log costs a formatted line per request: off unless asked for.
    runner = web.AppRunner(
        app, access_log=logging.getLogger("aiohttp.access") if access_log else None
    )
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
        bound = runner.addresses[0][1]
        log.info(
            "HTTP gateway on http://%s:%s/v1, board on http://%s:%s/board/, core at %s",
            *(host, bound) * 2,
            core_target,
        )
        if on_ready is not None:
            on_ready(bound)
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
