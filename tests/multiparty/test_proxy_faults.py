"""The receiving party's proxy killed mid-transfer: what was acknowledged survives, the object
arrives exactly once, and a sender whose peer stays down gets a clear error."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import numpy as np
import pytest

from fateflow_grpc.domain.parties import PartyRole
from fateflow_grpc.errors import FateFlowError, FederatedError
from fateflow_grpc.federation.client import Federation
from tests.multiparty.cluster import NodeProcess, start_parties, wait_for
from tests.multiparty.test_scheduling import GUEST, HOST

ROLES = {"guest": [GUEST], "host": [HOST]}
AT_GUEST, AT_HOST = PartyRole("guest", GUEST), PartyRole("host", HOST)


@pytest.fixture
def parties(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[int, NodeProcess]]:
    nodes = start_parties(tmp_path_factory.mktemp("faults"), [GUEST, HOST])
    yield nodes
    for node in nodes.values():
        node.stop()


@pytest.mark.slow
def test_receiver_killed_mid_transfer_gets_the_object_once(parties: dict[int, NodeProcess]) -> None:
    job_id = "20200101000000000007"
    payload = np.random.default_rng(0).integers(0, 255, 64 * 1024 * 1024, dtype=np.uint8)
    mailbox = parties[HOST].data_dir / "mailbox" / "jobs" / job_id
    errors: list[FateFlowError] = []
    # Small chunks make the transfer slow enough to be caught in the middle.
    guest = Federation(
        job_id, "s", AT_GUEST, ROLES, parties[GUEST].local_proxy_address, chunk_size=64 * 1024
    )

    def send() -> None:
        try:
            guest.remote(payload, "Var.big", "0", [AT_HOST], timeout=120)
        except FateFlowError as error:
            errors.append(error)

    sender = threading.Thread(target=send)
    sender.start()

    def half_received() -> bool:
        parts = list(mailbox.glob(".*.part")) if mailbox.exists() else []
        return any(part.stat().st_size > 8 * 1024 * 1024 for part in parts)

    wait_for(half_received, 60, "the host to be receiving")
    parties[HOST].kill()
    assert not list(mailbox.glob("*.hdr")), "the object was complete before the kill"
    killed = time.monotonic()
    parties[HOST].start()
    sender.join(120)
    assert not sender.is_alive() and not errors
    print(f"\nproxy killed mid 64 MB: delivered {time.monotonic() - killed:.1f} s after the kill")
    with Federation(job_id, "s", AT_HOST, ROLES, parties[HOST].local_proxy_address) as host:
        [received] = host.get("Var.big", "0", [AT_GUEST], timeout=30)
    assert np.array_equal(received, payload)
    # Exactly once: one message id, read, and nothing else left in the job's mailbox.
    assert [p.suffix for p in mailbox.iterdir()] == [".done"]
    guest.close()


def test_sender_fails_clearly_when_the_peer_stays_down(parties: dict[int, NodeProcess]) -> None:
    parties[HOST].kill()
    with Federation(
        "20200101000000000008", "s", AT_GUEST, ROLES, parties[GUEST].local_proxy_address
    ) as guest:
        started = time.monotonic()
        with pytest.raises(FederatedError) as caught:
            guest.remote(b"x" * 1024, "Var.lost", "0", [AT_HOST], timeout=3)
        assert time.monotonic() - started < 10
    message = caught.value.message
    assert "could not send Var.lost tag '0' to host 10000" in message
    assert f"party {HOST}'s proxy at {parties[HOST].proxy_address}" in message
