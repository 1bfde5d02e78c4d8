"""The log files tasks write under `<data_dir>/logs`, in FATE's layout
(`<job_id>/<role>/<party_id>/<component>/INFO.log`), read a range of lines at a time.

A line counts once it ends with its line break: a task writing its last line has not written it
yet, so a reader following the log never takes half a line for a whole one.
"""

from __future__ import annotations

from pathlib import Path

from fateflow_grpc.errors import InvalidArgument, PermissionDenied

#: FATE-Flow's log types (`/v1/log/cat`) that a node keeps, and their file names.
LOG_FILES = {"componentInfo": "INFO.log"}
#: Lines returned at most by one read, whatever range is asked for.
MAX_LINES = 10_000


def component_log(
    logs_dir: Path, log_type: str, job_id: str, role: str, party_id: str, component_name: str
) -> Path:
    """The file of a log type for one component at one party; it may not exist yet."""
    name = LOG_FILES.get(log_type)
    if name is None:
        raise InvalidArgument(
            f"log type {log_type!r} is not kept by this node; use one of {', '.join(LOG_FILES)}",
            log_type=log_type,
        )
    root = logs_dir.resolve()
    path = (root / job_id / role / party_id / component_name / name).resolve()
    # The parts come from a stored job row and its DSL; checked all the same.
    if not path.is_relative_to(root):
        raise PermissionDenied(f"log path {path} lies outside the logs directory", path=path)
    return path


def count_lines(path: Path) -> int:
    """The complete lines of a log; 0 when it does not exist yet."""
    try:
        with path.open("rb") as file:
            return sum(chunk.count(b"\n") for chunk in iter(lambda: file.read(1 << 20), b""))
    except FileNotFoundError:
        return 0


def read_lines(path: Path, begin: int = 1, end: int = 0) -> list[tuple[int, str]]:
    """Lines `begin` to `end` (counted from 1, both included; `end` 0: to the last one), at
    most `MAX_LINES` of them, as (number, text without its line break)."""
    begin = max(begin, 1)
    last = begin + MAX_LINES - 1 if end <= 0 else min(end, begin + MAX_LINES - 1)
    lines: list[tuple[int, str]] = []
    try:
        with path.open("rb") as file:
            for number, raw in enumerate(file, start=1):
                if number > last or not raw.endswith(b"\n"):
                    break
                if number >= begin:
                    lines.append((number, raw.rstrip(b"\r\n").decode("utf-8", "replace")))
    except FileNotFoundError:
        pass
    return lines
