"""The body of a worker process of the executor's pool: wait for one task, run it, report, exit."""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing import forkserver, resource_tracker
from multiprocessing.connection import Connection
from typing import Any

_PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class Outcome:
    """How a task's process ended."""

    ok: bool
    message: str = ""


def _die_with_the_node() -> None:
    """Ask Linux to kill this worker when its parent, the node's forkserver, goes away; and let
    the forkserver go away with the node.

    multiprocessing hands every process its forkserver forks the write ends of two pipes: the
    one by which the forkserver learns that the node is alive, and the resource tracker's. While
    a worker holds them, a forkserver whose node was killed never sees it die, nor does the
    tracker; the forkserver lives on, and so do its workers, still running tasks. A worker uses
    neither, so it closes both: a node's death ends its forkserver, and that ends its workers.
    """
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    for holder, name in (
        (forkserver._forkserver, "_forkserver_alive_fd"),
        (resource_tracker._resource_tracker, "_fd"),
    ):
        fd = getattr(holder, name, None)
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)
            setattr(holder, name, None)


def serve_one(connection: Connection, target: Callable[[Any], None]) -> None:
    _die_with_the_node()
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
