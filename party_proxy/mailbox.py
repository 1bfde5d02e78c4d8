"""The mailbox: federation objects received for this party's tasks, kept until they are read.

Layout under the mailbox directory:

    jobs/<job id>/<message id>.bin    an object's payload
    jobs/<job id>/<message id>.hdr    its ObjectHeader; written last, so its presence commits it
    jobs/<job id>/<message id>.done   an object already read (its message id stays known)
    jobs/<job id>/.<message id>.part  a payload being received (removed at start if left over)
    jobs/<job id>/.<id>.<x>.handoff   a payload handed to a local reader as a file
    ended/<job id>                    a job that ended here: its objects are refused (until
                                      it is rerun)

Every object is on disk before it is acknowledged, so a proxy restarted loses nothing it
acknowledged; the `.hdr` and `.done` files are the persisted set of message ids that makes a
retried push a duplicate rather than a second object. Besides, objects are kept in memory up to
`memory_bytes` in total, so that reading small ones never touches the disk; a larger object, or
one arriving when that budget is spent, is read back from its file in chunks. Memory stays
bounded whatever the object's size: payloads stream to and from disk chunk by chunk.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import queue
import re
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from fateflow.proxy.v1 import proxy_service_pb2 as pb
from fateflow_grpc.errors import (
    AlreadyExists,
    DeadlineExceeded,
    FailedPrecondition,
    FederatedError,
    InvalidArgument,
)

log = logging.getLogger(__name__)

#: Bytes of one chunk read back from disk.
READ_CHUNK = 256 * 1024
#: Job and message ids become file names: nothing else may.
_SAFE_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")

#: Objects larger than this are hashed and written on a thread of their own.
PIPELINE_FROM = 4 * 1024 * 1024
#: Chunks received and not yet written, at most.
WRITE_QUEUE = 8

KeyTuple = tuple[str, str, str, str, str, int, str, int]


def key_tuple(job_id: str, key: pb.ObjectKey) -> KeyTuple:
    return (
        job_id,
        key.session_id,
        key.name,
        key.tag,
        key.src_role,
        key.src_party_id,
        key.dst_role,
        key.dst_party_id,
    )


def describe(key: pb.ObjectKey) -> str:
    """A key as a person reads it, for errors."""
    return (
        f"{key.name} tag {key.tag!r} from {key.src_role} {key.src_party_id} "
        f"to {key.dst_role} {key.dst_party_id} (session {key.session_id})"
    )


@dataclass
class Entry:
    """One object waiting in the mailbox."""

    header: pb.ObjectHeader
    path: Path
    #: The payload's chunks, when it fits in the memory budget.
    data: list[bytes] | None


def check_header(header: pb.ObjectHeader) -> None:
    for what, value in (("job id", header.job_id), ("message id", header.message_id)):
        if not _SAFE_ID.fullmatch(value):
            raise InvalidArgument(f"an object's {what} {value!r} is not a valid id")
    if header.kind == pb.PAYLOAD_KIND_UNSPECIFIED or header.kind not in pb.PayloadKind.values():
        raise InvalidArgument(f"object {header.message_id} has no known payload kind")
    if header.size < 0 or len(header.digest) != hashlib.sha256().digest_size:
        raise InvalidArgument(f"object {header.message_id} needs a size and a SHA-256 digest")


class Mailbox:
    def __init__(self, directory: Path, memory_bytes: int) -> None:
        self._jobs = directory / "jobs"
        self._ended_dir = directory / "ended"
        self._jobs.mkdir(parents=True, exist_ok=True)
        self._ended_dir.mkdir(parents=True, exist_ok=True)
        self._memory_left = memory_bytes
        self._changed = threading.Condition()
        self._waiting: dict[KeyTuple, Entry] = {}
        self._known: dict[str, set[str]] = {}  # job id -> message ids stored or read
        self._receiving: dict[str, KeyTuple] = {}  # message id -> key, while streaming in
        self._ended = {path.name for path in self._ended_dir.iterdir()}
        self._closed = False
        self._load()

    def _load(self) -> None:
        """Take back what a previous run acknowledged; drop what it had half received."""
        for job_dir in self._jobs.iterdir():
            if job_dir.name in self._ended:  # cleaned, but the removal was cut short
                shutil.rmtree(job_dir, ignore_errors=True)
                continue
            known = self._known.setdefault(job_dir.name, set())
            for path in job_dir.iterdir():
                if path.name.startswith(".") or (
                    path.suffix == ".bin" and not path.with_suffix(".hdr").exists()
                ):
                    path.unlink()  # half received, or stored but never committed
                elif path.suffix == ".done":
                    known.add(path.stem)
                elif path.suffix == ".hdr":
                    header = pb.ObjectHeader.FromString(path.read_bytes())
                    known.add(header.message_id)
                    self._waiting[key_tuple(header.job_id, header.key)] = Entry(
                        header, path.with_suffix(".bin"), None
                    )
        log.info("mailbox: %d objects waiting to be read", len(self._waiting))

    # --- receiving --------------------------------------------------------------------------

    def receive(self, header: pb.ObjectHeader, chunks: Iterable[bytes]) -> bool:
        """Store an object from its chunks; False if it is new, True if it was a duplicate."""
        check_header(header)
        key = key_tuple(header.job_id, header.key)
        with self._changed:
            if header.job_id in self._ended:
                raise FailedPrecondition(
                    f"job {header.job_id} has ended at party {header.key.dst_party_id}: "
                    "its mailboxes are gone",
                    job_id=header.job_id,
                )
            if header.message_id in self._known.get(header.job_id, ()):
                return True
            if header.message_id in self._receiving:
                # A retry overtook the attempt still streaming: the sender retries again later.
                raise FederatedError(
                    f"object {header.message_id} is being received; retry",
                    message_id=header.message_id,
                )
            if key in self._waiting or key in self._receiving.values():
                raise AlreadyExists(
                    f"an object {describe(header.key)} is already waiting to be read",
                    message_id=header.message_id,
                )
            self._receiving[header.message_id] = key
            in_memory = header.size <= self._memory_left
            if in_memory:
                self._memory_left -= header.size
        job_dir = self._jobs / header.job_id
        part = job_dir / f".{header.message_id}.part"
        final = job_dir / f"{header.message_id}.bin"
        try:
            job_dir.mkdir(exist_ok=True)
            data = self._write(header, chunks, part, in_memory)
            part.rename(final)
            header_part = job_dir / f".{header.message_id}.hdr"
            header_part.write_bytes(header.SerializeToString())
            header_part.rename(final.with_suffix(".hdr"))  # the commit
        except BaseException:
            with self._changed:
                self._receiving.pop(header.message_id)
                if in_memory:
                    self._memory_left += header.size
            for leftover in (part, final):
                with contextlib.suppress(OSError):
                    leftover.unlink()
            raise
        with self._changed:
            self._receiving.pop(header.message_id)
            if header.job_id in self._ended:  # the job ended while the object streamed in
                if in_memory:
                    self._memory_left += header.size
                shutil.rmtree(job_dir, ignore_errors=True)
                raise FailedPrecondition(
                    f"job {header.job_id} ended while object {header.message_id} arrived",
                    job_id=header.job_id,
                )
            self._known.setdefault(header.job_id, set()).add(header.message_id)
            self._waiting[key] = Entry(header, final, data)
            self._changed.notify_all()
        return False

    @staticmethod
    def _write(
        header: pb.ObjectHeader, chunks: Iterable[bytes], part: Path, in_memory: bool
    ) -> list[bytes] | None:
        """Write and hash the chunks; the kept chunks when the object is kept in memory.

        For a large object, hashing and writing run on a thread of their own (both release
        the GIL), so that they overlap with receiving the next chunks; at most `WRITE_QUEUE`
        chunks wait between the two.
        """
        digest = hashlib.sha256()
        kept: list[bytes] = []
        size = 0
        with part.open("wb") as file:

            def store(chunk: bytes) -> None:
                digest.update(chunk)
                file.write(chunk)

            with _Pipeline(store, threaded=header.size > PIPELINE_FROM) as sink:
                for chunk in chunks:
                    size += len(chunk)
                    if size > header.size:
                        raise InvalidArgument(
                            f"object {header.message_id} is larger than its header's "
                            f"{header.size} bytes"
                        )
                    sink(chunk)
                    if in_memory:
                        kept.append(chunk)
        if size != header.size or digest.digest() != header.digest:
            raise InvalidArgument(
                f"object {header.message_id} does not match its header's size and digest",
                message_id=header.message_id,
            )
        return kept if in_memory else None

    # --- reading ----------------------------------------------------------------------------

    def take(self, job_id: str, key: pb.ObjectKey, timeout_s: float) -> Entry:
        """Claim the object under `key`, waiting up to `timeout_s` for it to arrive.

        The caller then sends it and calls `delivered`, or `put_back` if sending failed.
        """
        wanted = key_tuple(job_id, key)
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while wanted not in self._waiting:
                if self._closed:
                    raise FederatedError(f"the proxy is stopping; {describe(key)} not read")
                if job_id in self._ended:
                    raise FailedPrecondition(
                        f"job {job_id} ended here before {describe(key)} arrived", job_id=job_id
                    )
                left = deadline - time.monotonic()
                if left <= 0:
                    raise DeadlineExceeded(
                        f"no object {describe(key)} arrived in {timeout_s:g} s",
                        job_id=job_id,
                        name=key.name,
                        tag=key.tag,
                        src_party_id=key.src_party_id,
                    )
                self._changed.wait(left)
            return self._waiting.pop(wanted)

    def close(self) -> None:
        """Wake every waiting `take`: a stopping server waits for its handlers to return."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()

    @staticmethod
    def read(entry: Entry) -> Iterator[bytes]:
        if entry.data is not None:
            # Chunks come as the sender cut them; readers get them no larger than READ_CHUNK.
            for chunk in entry.data:
                for start in range(0, len(chunk), READ_CHUNK):
                    yield chunk[start : start + READ_CHUNK] if len(chunk) > READ_CHUNK else chunk
            return
        with entry.path.open("rb") as file:
            while chunk := file.read(READ_CHUNK):
                yield chunk

    @staticmethod
    def hand_off(entry: Entry) -> Path:
        """A new name (a hard link) of the object's payload file, for a reader on this node to
        read and remove: the object's own files may then go whenever they go. Its leading dot
        makes it a leftover that a restart or the job's end removes, if the reader does not."""
        link = entry.path.with_name(f".{entry.header.message_id}.{uuid.uuid4().hex}.handoff")
        os.link(entry.path, link)
        return link

    def delivered(self, entry: Entry) -> None:
        """The object was read: free it, keep its message id."""
        done = entry.path.with_suffix(".done")
        with contextlib.suppress(FileNotFoundError):  # the job was cleaned meanwhile
            done.touch()
            entry.path.with_suffix(".hdr").unlink()
            entry.path.unlink()
        with self._changed:
            if entry.data is not None:
                self._memory_left += entry.header.size

    def put_back(self, entry: Entry) -> None:
        """The reader went away before it had the whole object: keep it for the next read."""
        with self._changed:
            if entry.header.job_id in self._ended:
                if entry.data is not None:
                    self._memory_left += entry.header.size
                return
            self._waiting[key_tuple(entry.header.job_id, entry.header.key)] = entry
            self._changed.notify_all()

    # --- ending -----------------------------------------------------------------------------

    def clean(self, job_id: str) -> int:
        """Remove a job's mailbox and refuse its later objects; returns the objects removed."""
        if not _SAFE_ID.fullmatch(job_id):
            raise InvalidArgument(f"{job_id!r} is not a valid job id")
        with self._changed:
            (self._ended_dir / job_id).touch()
            self._ended.add(job_id)
            removed = [key for key in self._waiting if key[0] == job_id]
            for key in removed:
                entry = self._waiting.pop(key)
                if entry.data is not None:
                    self._memory_left += entry.header.size
            self._known.pop(job_id, None)
            self._changed.notify_all()  # readers waiting for this job's objects give up
        shutil.rmtree(self._jobs / job_id, ignore_errors=True)
        return len(removed)

    def open(self, job_id: str) -> None:
        """Take a cleaned job's objects again: it is rerun here."""
        if not _SAFE_ID.fullmatch(job_id):
            raise InvalidArgument(f"{job_id!r} is not a valid job id")
        with self._changed:
            (self._ended_dir / job_id).unlink(missing_ok=True)
            self._ended.discard(job_id)


class _Pipeline:
    """`with _Pipeline(store, threaded=True) as sink`: sink(chunk) hands the chunk to `store`,
    on a thread of its own when threaded; leaving the block waits for every chunk to be stored
    and raises what `store` raised."""

    def __init__(self, store: Callable[[bytes], None], *, threaded: bool) -> None:
        self._store = store
        self._threaded = threaded
        self._queue: queue.Queue[bytes | None] = queue.Queue(WRITE_QUEUE)
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Callable[[bytes], None]:
        if not self._threaded:
            return self._store
        self._thread.start()
        return self._put

    def _put(self, chunk: bytes) -> None:
        if self._failure is not None:
            raise self._failure
        self._queue.put(chunk)

    def _run(self) -> None:
        while (chunk := self._queue.get()) is not None:
            if self._failure is None:  # after a failure, only drain: the sender never blocks
                try:
                    self._store(chunk)
                except BaseException as error:
                    self._failure = error

    def __exit__(self, *exc: object) -> None:
        if not self._threaded:
            return
        self._queue.put(None)
        self._thread.join()
        if self._failure is not None:
            raise self._failure
