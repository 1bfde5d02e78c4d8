"""`python -m gateway --core HOST:PORT [--host H] [--port P]`: the gateway alone.

Prints `listening on http://HOST:PORT` once it serves (with `--port 0`, the port it picked),
and stops cleanly on SIGINT or SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal

from gateway.reflection import ReflectionError
from gateway.server import serve


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gateway", description=__doc__)
    parser.add_argument("--core", default="127.0.0.1:9360", help="the gRPC core, host:port")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=9380, help="port to listen on; 0 picks one")
    parser.add_argument("--access-log", action="store_true", help="log every request")
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )

    def ready(port: int) -> None:
        print(f"listening on http://{args.host}:{port}", flush=True)

    async def run() -> None:
        # A signal cancels `serve`, whose cleanup closes the HTTP server and the channel.
        task = asyncio.current_task()
        assert task is not None
        for sig in (signal.SIGINT, signal.SIGTERM):
            asyncio.get_running_loop().add_signal_handler(sig, task.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await serve(args.core, args.host, args.port, access_log=args.access_log, on_ready=ready)

    try:
        asyncio.run(run())
    except ReflectionError as error:
        logging.getLogger("gateway").error("%s", error)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
