"""The body of a worker process of the executor's pool: wait for one task, run it, report, exit."""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

_PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class Outcome:
    """How a task's process ended."""

    ok: bool
    message: str = ""


def _die_with_parent() -> None:
    """Ask Linux to kill this worker when its parent (the node's forkserver) goes away."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def serve_one(connection: Connection, target: Callable[[Any], None]) -> None:
    _die_with_parent()
    # ^C at a terminal reaches the whole process group; the node stops its workers itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        run = connection.recv()
    except (EOFError, OSError):
        return  # the pool closed before this worker got a task
    try:
        target(run)
        outcome = Outcome(True)
    except BaseException as error:  # whatever happened is the task's outcome
        outcome = Outcome(False, f"{type(error).__name__}: {error}")
    connection.send(outcome)
    # Skip the interpreter's teardown of every loaded module: the task is done and reported.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0 if outcome.ok else 1)
