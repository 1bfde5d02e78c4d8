"""The mailbox on its own: durable, deduplicated, bounded in memory, cleaned per job."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from fateflow.proxy.v1 import proxy_service_pb2 as pb
from fateflow_grpc.errors import (
    AlreadyExists,
    DeadlineExceeded,
    FailedPrecondition,
    FederatedError,
    InvalidArgument,
)
from party_proxy.mailbox import PIPELINE_FROM, READ_CHUNK, Mailbox

KEY = pb.ObjectKey(
    session_id="s",
    name="Var.x",
    tag="0",
    src_role="guest",
    src_party_id=9999,
    dst_role="host",
    dst_party_id=10000,
)


def header(message_id: str, payload: bytes, job_id: str = "job", tag: str = "0") -> pb.ObjectHeader:
    key = pb.ObjectKey()
    key.CopyFrom(KEY)
    key.tag = tag
    return pb.ObjectHeader(
        message_id=message_id,
        job_id=job_id,
        key=key,
        kind=pb.PAYLOAD_KIND_BYTES,
        size=len(payload),
        digest=hashlib.sha256(payload).digest(),
    )


def read(mailbox: Mailbox, tag: str = "0", job_id: str = "job") -> bytes:
    key = pb.ObjectKey()
    key.CopyFrom(KEY)
    key.tag = tag
    entry = mailbox.take(job_id, key, 1)
    data = b"".join(mailbox.read(entry))
    mailbox.delivered(entry)
    return data


def test_what_was_acknowledged_survives_a_restart_and_is_delivered_once(tmp_path: Path) -> None:
    mailbox = Mailbox(tmp_path, memory_bytes=1024)
    assert mailbox.receive(header("m1", b"kept"), [b"ke", b"pt"]) is False
    mailbox = Mailbox(tmp_path, memory_bytes=1024)  # a new process over the same directory
    assert mailbox.receive(header("m1", b"kept"), [b"kept"]) is True  # a retry: not stored again
    assert read(mailbox) == b"kept"
    mailbox = Mailbox(tmp_path, memory_bytes=1024)
    assert mailbox.receive(header("m1", b"kept"), [b"kept"]) is True  # read, still known
    with pytest.raises(DeadlineExceeded, match=r"Var\.x tag '0' from guest 9999"):
        read(mailbox)


def test_a_half_received_object_is_dropped_at_restart(tmp_path: Path) -> None:
    mailbox = Mailbox(tmp_path, memory_bytes=0)

    def broken() -> Iterator[bytes]:
        yield b"who"
        raise ConnectionError("the sender went away")

    with pytest.raises(ConnectionError):
        mailbox.receive(header("m1", b"whole"), broken())
    (tmp_path / "jobs" / "job" / ".m2.part").write_bytes(b"left by a killed process")
    (tmp_path / "jobs" / "job" / "m3.bin").write_bytes(b"stored, killed before its header")
    mailbox = Mailbox(tmp_path, memory_bytes=0)
    assert list((tmp_path / "jobs" / "job").iterdir()) == []
    assert mailbox.receive(header("m1", b"whole"), [b"whole"]) is False


def test_payloads_that_do_not_match_their_header_are_refused(tmp_path: Path) -> None:
    mailbox = Mailbox(tmp_path, memory_bytes=1024)
    with pytest.raises(InvalidArgument, match="digest"):
        mailbox.receive(header("m1", b"promised"), [b"replaced"])
    with pytest.raises(InvalidArgument, match="larger"):
        mailbox.receive(header("m2", b"short"), [b"much longer"])
    with pytest.raises(InvalidArgument, match="not a valid id"):
        mailbox.receive(header("m3", b"x", job_id="../escape"), [b"x"])
    assert list((tmp_path / "jobs").iterdir()) == [tmp_path / "jobs" / "job"]
    assert list((tmp_path / "jobs" / "job").iterdir()) == []


def test_a_second_object_under_the_same_key_is_refused(tmp_path: Path) -> None:
    mailbox = Mailbox(tmp_path, memory_bytes=1024)
    mailbox.receive(header("m1", b"a"), [b"a"])
    with pytest.raises(AlreadyExists):
        mailbox.receive(header("m2", b"b"), [b"b"])

    def second_while_first_streams() -> Iterator[bytes]:
        with pytest.raises(AlreadyExists):
            mailbox.receive(header("m4", b"d", tag="1"), [b"d"])
        yield b"c"

    mailbox.receive(header("m3", b"c", tag="1"), second_while_first_streams())
    assert read(mailbox, tag="1") == b"c"


def test_objects_beyond_the_memory_budget_are_read_from_disk(tmp_path: Path) -> None:
    mailbox = Mailbox(tmp_path, memory_bytes=10)
    mailbox.receive(header("m1", b"x" * 8, tag="small"), [b"x" * 8])
    mailbox.receive(header("m2", b"y" * 8, tag="spilled"), [b"y" * 8])  # 2 bytes of budget left
    small = mailbox.take("job", header("m1", b"", tag="small").key, 1)
    spilled = mailbox.take("job", header("m2", b"", tag="spilled").key, 1)
    assert small.data == [b"x" * 8] and spilled.data is None
    assert b"".join(mailbox.read(spilled)) == b"y" * 8
    mailbox.delivered(small)
    mailbox.delivered(spilled)
    mailbox.receive(header("m3", b"z" * 10, tag="again"), [b"z" * 10])  # the budget came back
    assert mailbox.take("job", header("m3", b"", tag="again").key, 1).data == [b"z" * 10]


def test_cleaning_a_job_removes_its_objects_and_wakes_its_readers(tmp_path: Path) -> None:
    mailbox = Mailbox(tmp_path, memory_bytes=1024)
    mailbox.receive(header("m1", b"a", job_id="ended"), [b"a"])
    mailbox.receive(header("m1", b"a", job_id="other"), [b"a"])
    errors: list[Exception] = []

    def wait() -> None:
        key = pb.ObjectKey()
        key.CopyFrom(KEY)
        key.tag = "never"
        try:
            mailbox.take("ended", key, 30)
        except FailedPrecondition as error:
            errors.append(error)

    reader = threading.Thread(target=wait)
    reader.start()
    assert mailbox.clean("ended") == 1
    reader.join(5)
    assert len(errors) == 1 and "ended" in str(errors[0])
    assert not (tmp_path / "jobs" / "ended").exists()
    with pytest.raises(FailedPrecondition):
        mailbox.receive(header("m2", b"b", job_id="ended"), [b"b"])
    assert read(Mailbox(tmp_path, 1024), job_id="other") == b"a"  # other jobs keep theirs
    with pytest.raises(FailedPrecondition):  # the end is remembered across restarts
        Mailbox(tmp_path, 1024).receive(header("m3", b"c", job_id="ended"), [b"c"])


def test_closing_wakes_its_waiting_readers(tmp_path: Path) -> None:
    """A stopping proxy must not wait for its pulls' timeouts (the node would hang on exit)."""
    mailbox = Mailbox(tmp_path, memory_bytes=1024)
    errors: list[Exception] = []

    def wait() -> None:
        try:
            mailbox.take("job", KEY, 60)
        except FederatedError as error:
            errors.append(error)

    reader = threading.Thread(target=wait)
    reader.start()
    mailbox.close()
    reader.join(5)
    assert not reader.is_alive()
    assert len(errors) == 1 and "stopping" in str(errors[0])


def test_large_objects_are_written_while_they_arrive(tmp_path: Path) -> None:
    """Past PIPELINE_FROM, a thread hashes and writes while chunks come in: same outcome."""
    mailbox = Mailbox(tmp_path, memory_bytes=0)
    chunks = [bytes([n]) * (1024 * 1024) for n in range(PIPELINE_FROM // (1024 * 1024) + 3)]
    payload = b"".join(chunks)
    assert mailbox.receive(header("m1", payload), chunks) is False
    assert read(mailbox) == payload
    with pytest.raises(InvalidArgument, match="digest"):
        mailbox.receive(header("m2", payload, tag="1"), [*chunks[:-1], b"\xff" * len(chunks[-1])])
    assert sorted(p.name for p in (tmp_path / "jobs" / "job").iterdir()) == ["m1.done"]


def test_readers_get_chunks_no_larger_than_read_chunk(tmp_path: Path) -> None:
    """A sender may cut larger chunks than a reader accepts in one message."""
    for memory in (1 << 30, 0):  # kept in memory, and read from disk
        mailbox = Mailbox(tmp_path / str(memory), memory_bytes=memory)
        payload = bytes(range(256)) * (READ_CHUNK * 5 // 2 // 256)
        mailbox.receive(header("m1", payload), [payload])
        entry = mailbox.take("job", KEY, 1)
        chunks = list(mailbox.read(entry))
        assert max(map(len, chunks)) == READ_CHUNK and b"".join(chunks) == payload
