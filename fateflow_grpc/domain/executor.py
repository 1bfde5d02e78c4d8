"""Runs tasks in worker processes taken from a warm pool, so a task starts in milliseconds.

A task gets a process of its own (isolation: a crash or a leak ends with it; stop = terminate),
but the process is forked before it is needed: `size` idle workers wait on a pipe, a started
task is handed to one of them, and a fresh one is forked to take its place. Workers come from a
forkserver (never a fork of the threaded node) and die with the node: the forkserver ends when
the node does, and each worker when the forkserver does (`worker_process.py`). Should one
survive anyway, the executor records every process it owns (pid and start time) in its
`record` file, and `end_leftovers` ends those of a previous run before the node recovers.

When a task's process ends, `on_exit(key, outcome)` is called from a monitor thread with what
the worker reported, or with a failure naming the exit code when it died without reporting;
not when the executor is closing, as the node then leaves its tasks to its own recovery.
"""

from __future__ import annotations

import contextlib
import json
import logging
import multiprocessing
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

import psutil

from fateflow_grpc.domain.worker_process import Outcome, serve_one

log = logging.getLogger(__name__)

#: Seconds a stopped worker gets to exit on SIGTERM before SIGKILL.
STOP_GRACE_S = 3.0


@dataclass
class _Running:
    process: BaseProcess
    connection: Connection
    stopping: bool = False
    outcome: Outcome | None = field(default=None)


def _main_module() -> list[str]:
    """The program's main module, when it is one (`python -m fateflow_grpc.cli`).

    multiprocessing runs the main module again in every worker it starts; loaded once in the
    forkserver, its imports are already there and a worker starts in milliseconds.
    """
    name = getattr(sys.modules["__main__"].__spec__, "name", None)
    return [name] if name and not name.endswith("__main__") else []


class Executor:
    """A warm pool of worker processes; `target(run)` is what a worker does with a task."""

    def __init__(
        self,
        target: Callable[[Any], None],
        on_exit: Callable[[Any, Outcome], None],
        size: int = 2,
        preload: tuple[str, ...] = (),
        record: Path | None = None,
    ) -> None:
        self._context = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload(
            ["fateflow_grpc.domain.worker_process", *preload, *_main_module()]
        )
        self._target = target
        self._on_exit = on_exit
        self._size = size
        self._idle: list[tuple[BaseProcess, Connection]] = []
        self._running: dict[Any, _Running] = {}
        self._lock = threading.Lock()
        self._closed = False
        self._record = record
        #: pid -> start time of every process this executor owns, the forkserver included.
        self._owned: dict[int, float] = {}

    def end_leftovers(self) -> int:
        """End the processes a previous run of this executor recorded and left running (a
        node killed outright); returns how many there were. Call it before any task starts."""
        if self._record is None or not self._record.exists():
            return 0
        leftovers = []
        for pid, started in json.loads(self._record.read_text()).items():
            with contextlib.suppress(psutil.Error):
                process = psutil.Process(int(pid))
                if process.create_time() == started:  # the same process, not a reused pid
                    process.kill()
                    leftovers.append(process)
        psutil.wait_procs(leftovers, timeout=STOP_GRACE_S)
        self._record.unlink()
        return len(leftovers)

    def _own(self, pid: int, owned: bool) -> None:
        """Record (or forget) a process of ours; the record is replaced whole, never torn."""
        if self._record is None:
            return
        if owned:
            with contextlib.suppress(psutil.Error):
                process = psutil.Process(pid)
                self._owned[pid] = process.create_time()
                forkserver = process.parent()
                if forkserver is not None:
                    self._owned[forkserver.pid] = forkserver.create_time()
        else:
            self._owned.pop(pid, None)
        temporary = self._record.with_suffix(".tmp")
        temporary.write_text(json.dumps(self._owned))
        temporary.replace(self._record)

    def warm_up(self) -> None:
        """Fork the idle workers now rather than at the first task."""
        with self._lock:
            while len(self._idle) < self._size:
                self._idle.append(self._fork())

    def _fork(self) -> tuple[BaseProcess, Connection]:
        parent, child = self._context.Pipe()
        process = self._context.Process(target=serve_one, args=(child, self._target), daemon=True)
        process.start()
        child.close()
        assert process.pid is not None
        self._own(process.pid, True)
        return process, parent

    def start(self, key: Any, run: Any) -> int:
        """Hand `run` to an idle worker; returns the worker's pid."""
        with self._lock:
            if self._closed:
                raise RuntimeError("the executor is closed")
            process, connection = self._idle.pop() if self._idle else self._fork()
            connection.send(run)
            self._running[key] = _Running(process, connection)
        threading.Thread(target=self._monitor, args=(key,), daemon=True).start()
        threading.Thread(target=self.warm_up, daemon=True).start()
        assert process.pid is not None
        return process.pid

    def stop(self, key: Any) -> bool:
        """Terminate the task's process; False when it is not running here."""
        with self._lock:
            running = self._running.get(key)
            if running is None:
                return False
            running.stopping = True
        running.process.terminate()
        running.process.join(STOP_GRACE_S)
        if running.process.is_alive():
            running.process.kill()
        return True

    def running(self) -> list[Any]:
        with self._lock:
            return list(self._running)

    def _monitor(self, key: Any) -> None:
        running = self._running[key]
        outcome: Outcome | None = None
        with contextlib.suppress(EOFError, OSError):  # died without a word: the exit code tells
            outcome = running.connection.recv()
        running.process.join()
        running.connection.close()
        with self._lock:
            del self._running[key]
            assert running.process.pid is not None
            self._own(running.process.pid, False)
            if self._closed:
                return  # the node is going down: its restart recovers the task, not this
        if outcome is None:
            reason = "stopped" if running.stopping else "died"
            outcome = Outcome(False, f"worker {reason} with exit code {running.process.exitcode}")
        try:
            self._on_exit(key, outcome)
        except Exception:
            log.exception("handling the end of task %s failed", key)

    def close(self) -> None:
        """Stop every running task and the idle workers."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
            keys = list(self._running)
        for key in keys:
            self.stop(key)
        for process, connection in idle:
            connection.close()  # an idle worker exits when its pipe closes
            process.join(STOP_GRACE_S)
            if process.is_alive():
                process.kill()
        if self._record is not None:
            # Every worker has ended; the forkserver ends with this process.
            self._record.unlink(missing_ok=True)
