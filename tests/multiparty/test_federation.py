"""Federation objects between guest 9999 and host 10000, each its own node process: every object
goes task -> own proxy -> other party's proxy -> mailbox -> task, as component tasks send them."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import numpy as np
import pytest

from fateflow.party.v1 import party_service_pb2, party_service_pb2_grpc
from fateflow.proxy.v1 import proxy_service_pb2 as proxy_pb
from fateflow.proxy.v1 import proxy_service_pb2_grpc
from fateflow.v1 import job_service_pb2, job_service_pb2_grpc
from fateflow_grpc.config import NodeConfig
from fateflow_grpc.domain.parties import PartyRole
from fateflow_grpc.errors import DeadlineExceeded, FailedPrecondition
from fateflow_grpc.federation.client import Federation
from fateflow_grpc.federation.codec import BigIntegers
from fateflow_grpc.ids import new_job_id
from party_proxy.security import DST_PARTY, SRC_PARTY
from party_proxy.server import create_proxy_server
from tests.multiparty.cluster import NodeProcess, start_parties, wait_for
from tests.multiparty.test_scheduling import FINAL, GUEST, HOST, chain, conf_v2, statuses, submit

ROLES = {"guest": [GUEST], "host": [HOST], "arbiter": [HOST]}
AT_GUEST, AT_HOST, AT_ARBITER = (
    PartyRole("guest", GUEST),
    PartyRole("host", HOST),
    PartyRole("arbiter", HOST),
)


@pytest.fixture(scope="module")
def parties(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[int, NodeProcess]]:
    nodes = start_parties(tmp_path_factory.mktemp("fed"), [GUEST, HOST])
    yield nodes
    for node in nodes.values():
        node.stop()


def federation(parties: dict[int, NodeProcess], at: PartyRole, job_id: str) -> Federation:
    return Federation(
        job_id, f"{job_id}_lr_0_0", at, ROLES, parties[at.party_id].local_proxy_address
    )


def new_job() -> str:
    return new_job_id()


def array(size: int) -> np.ndarray:
    return np.random.default_rng(size).integers(0, 255, size, dtype=np.uint8)


@pytest.mark.parametrize("size", [1024, 64 * 1024 * 1024], ids=["1KB", "64MB"])
def test_objects_cross_both_ways(parties: dict[int, NodeProcess], size: int) -> None:
    job_id = new_job()
    payload = array(size)
    with (
        federation(parties, AT_GUEST, job_id) as guest,
        federation(parties, AT_HOST, job_id) as host,
    ):
        guest.remote(payload, "Var.x", "fit.0", [AT_HOST])
        [received] = host.get("Var.x", "fit.0", [AT_GUEST], timeout=30)
        assert isinstance(received, np.ndarray) and np.array_equal(received, payload)
        host.remote(received[::-1].copy(), "Var.y", "fit.0", [AT_GUEST])
        [back] = guest.get("Var.y", "fit.0", [AT_HOST], timeout=30)
        assert np.array_equal(back, payload[::-1])


@pytest.mark.slow
def test_one_gigabyte_crosses_both_ways_in_bounded_memory(parties: dict[int, NodeProcess]) -> None:
    job_id = new_job()
    size = 1024**3
    payload = np.frombuffer(np.random.default_rng(1).bytes(size // 1024), np.uint8)
    payload = np.tile(payload, 1024)  # 1 GiB without generating 1 GiB of randomness
    digest = hashlib.sha256(payload).digest()
    with (
        federation(parties, AT_GUEST, job_id) as guest,
        federation(parties, AT_HOST, job_id) as host,
    ):
        guest.remote(payload, "Var.big", "0", [AT_GUEST.__class__("host", HOST)], timeout=300)
        [received] = host.get("Var.big", "0", [AT_GUEST], timeout=300)
        assert hashlib.sha256(received).digest() == digest
        del payload
        host.remote(received, "Var.big", "1", [AT_GUEST], timeout=300)
        del received
        [back] = guest.get("Var.big", "1", [AT_HOST], timeout=300)
        assert hashlib.sha256(back).digest() == digest
    for node in parties.values():
        # Each node (core, gateway and proxy in one process) streamed 1 GiB in and out.
        assert peak_rss(node) < 400 * 1024 * 1024, f"party {node.party_id}"


def peak_rss(node: NodeProcess) -> int:
    assert node.process is not None
    for line in Path(f"/proc/{node.process.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


def test_every_payload_kind_crosses(parties: dict[int, NodeProcess]) -> None:
    job_id = new_job()
    objects = {
        "json": {"loss": 0.25, "batch": [1, 2, 3], "name": "lr", "converged": False},
        "ciphertexts": BigIntegers([0, 1, 2**2048 + 12345, 7**500]),
        "bytes": b"\x00\x01raw",
        "floats": np.linspace(0, 1, 12).reshape(3, 4).astype(">f8"),
        "complex": np.array([1 + 2j, 3 - 4j], dtype=np.complex64),
        "scalar": np.array(3.5),
        "empty": np.zeros((0, 5), dtype=np.int32),
    }
    with (
        federation(parties, AT_GUEST, job_id) as guest,
        federation(parties, AT_HOST, job_id) as host,
    ):
        for name, value in objects.items():
            guest.remote(value, name, "t", [AT_HOST])
        for name, value in objects.items():
            [received] = host.get(name, "t", [AT_GUEST], timeout=10)
            if isinstance(value, np.ndarray):
                assert isinstance(received, np.ndarray)
                assert received.dtype == value.dtype and received.shape == value.shape
                assert np.array_equal(received, value)
            else:
                assert received == value and type(received) is type(value)


def test_roles_of_one_party_exchange_through_its_own_mailbox(
    parties: dict[int, NodeProcess],
) -> None:
    """Host and arbiter are both party 10000, as in FATE's examples."""
    job_id = new_job()
    with (
        federation(parties, AT_HOST, job_id) as host,
        federation(parties, AT_ARBITER, job_id) as arbiter,
    ):
        host.remote([1, 2], "Var.z", "0", [AT_ARBITER])
        assert arbiter.get("Var.z", "0", [AT_HOST], timeout=10) == [[1, 2]]


def test_get_waits_for_a_later_remote(parties: dict[int, NodeProcess]) -> None:
    job_id = new_job()
    got: list[object] = []
    with (
        federation(parties, AT_GUEST, job_id) as guest,
        federation(parties, AT_HOST, job_id) as host,
    ):
        waiting = threading.Thread(
            target=lambda: got.extend(host.get("Var.w", "0", [AT_GUEST], 30))
        )
        waiting.start()
        time.sleep(0.5)
        assert waiting.is_alive()  # nothing sent yet
        guest.remote({"late": True}, "Var.w", "0", [AT_HOST])
        waiting.join(10)
        assert got == [{"late": True}]


def test_get_times_out_naming_what_and_whom(parties: dict[int, NodeProcess]) -> None:
    job_id = new_job()
    with federation(parties, AT_GUEST, job_id) as guest:
        started = time.monotonic()
        with pytest.raises(DeadlineExceeded) as caught:
            guest.get("HeteroLRTransferVariable.host_forward_dict", "fit.3.1", [AT_HOST], timeout=1)
        assert 1 <= time.monotonic() - started < 6
        message = caught.value.message
        assert "HeteroLRTransferVariable.host_forward_dict" in message and "fit.3.1" in message
        assert "host 10000" in message


def test_duplicate_remote_and_get_are_refused(parties: dict[int, NodeProcess]) -> None:
    job_id = new_job()
    with (
        federation(parties, AT_GUEST, job_id) as guest,
        federation(parties, AT_HOST, job_id) as host,
    ):
        guest.remote(1, "Var.d", "0", [AT_HOST])
        with pytest.raises(FailedPrecondition, match="remote duplicate tag"):
            guest.remote(2, "Var.d", "0", [AT_HOST])
        assert host.get("Var.d", "0", [AT_GUEST], 10) == [1]
        with pytest.raises(FailedPrecondition, match="get duplicate tag"):
            host.get("Var.d", "0", [AT_GUEST], 10)


def test_a_retried_push_is_delivered_once(parties: dict[int, NodeProcess]) -> None:
    job_id = new_job()
    key = proxy_pb.ObjectKey(
        session_id="s",
        name="Var.r",
        tag="0",
        src_role="guest",
        src_party_id=GUEST,
        dst_role="host",
        dst_party_id=HOST,
    )
    payload = b"once"
    header = proxy_pb.ObjectHeader(
        message_id="m1",
        job_id=job_id,
        key=key,
        kind=proxy_pb.PAYLOAD_KIND_BYTES,
        size=len(payload),
        digest=hashlib.sha256(payload).digest(),
    )
    with grpc.insecure_channel(parties[GUEST].local_proxy_address) as channel:
        stub = proxy_service_pb2_grpc.ProxyServiceStub(channel)
        requests = [proxy_pb.PushRequest(header=header), proxy_pb.PushRequest(chunk=payload)]
        assert not stub.Push(iter(requests), timeout=10).duplicate
        assert stub.Push(iter(requests), timeout=10).duplicate
    with Federation(job_id, "s", AT_HOST, ROLES, parties[HOST].local_proxy_address) as host:
        assert host.get("Var.r", "0", [AT_GUEST], 10) == [payload]
    mailbox = parties[HOST].data_dir / "mailbox" / "jobs" / job_id
    assert sorted(p.name for p in mailbox.iterdir()) == ["m1.done"]


def test_control_plane_calls_cross_both_ways(parties: dict[int, NodeProcess]) -> None:
    """A PartyService call from each party's core side reaches the other party's core."""
    for src, dst in ((GUEST, HOST), (HOST, GUEST)):
        with grpc.insecure_channel(parties[src].local_proxy_address) as channel:
            stub = party_service_pb2_grpc.PartyServiceStub(channel)
            with pytest.raises(grpc.RpcError) as caught:
                stub.GetJobStatus(
                    party_service_pb2.GetJobStatusRequest(job_id="202401010000000000000"),
                    metadata=((DST_PARTY, str(dst)), (SRC_PARTY, str(src))),
                    timeout=10,
                )
            # The other party's core answered, with its own error.
            assert caught.value.code() == grpc.StatusCode.NOT_FOUND


def test_a_jobs_mailboxes_go_when_it_ends(parties: dict[int, NodeProcess]) -> None:
    job_id = submit(parties[GUEST], chain(1), conf_v2(common={"noop_0": {"sleep_seconds": 1}}))
    with federation(parties, AT_GUEST, job_id) as guest:
        guest.remote("never read", "Var.c", "0", [AT_HOST])
        mailbox = parties[HOST].data_dir / "mailbox" / "jobs" / job_id
        assert mailbox.exists()
        wait_for(
            lambda: all(set(statuses(n, job_id).values()) <= FINAL for n in parties.values()),
            60,
            "the job to end",
        )
        wait_for(lambda: not mailbox.exists(), 10, "the host's mailbox of the job to go")
        with pytest.raises(FailedPrecondition, match="ended"):
            guest.remote("too late", "Var.c", "1", [AT_HOST])


def test_the_proxy_port_serves_no_public_api_nor_pull(parties: dict[int, NodeProcess]) -> None:
    with grpc.insecure_channel(parties[HOST].proxy_address) as channel:
        with pytest.raises(grpc.RpcError) as caught:
            job_service_pb2_grpc.JobServiceStub(channel).ListJobs(
                job_service_pb2.ListJobsRequest(), timeout=10
            )
        assert caught.value.code() == grpc.StatusCode.UNIMPLEMENTED
        pull = proxy_service_pb2_grpc.ProxyServiceStub(channel).Pull(
            proxy_pb.PullRequest(
                job_id="20200101000000000001", key=proxy_pb.ObjectKey(dst_party_id=HOST)
            ),
            timeout=10,
        )
        with pytest.raises(grpc.RpcError) as caught:
            next(pull)
        assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_the_public_api_is_served_on_the_proxy_port_only_when_configured(
    parties: dict[int, NodeProcess], tmp_path: Path
) -> None:
    config = NodeConfig(
        party_id=GUEST,
        grpc_port=parties[GUEST].grpc_port,
        data_dir=tmp_path,
        proxy_local_address=f"unix:{tmp_path / 'proxy.sock'}",
        proxy_public_api=True,
    )
    job_id = submit(parties[GUEST], chain(1), conf_v2())
    wait_for(lambda: statuses(parties[GUEST], job_id)["guest"] in FINAL, 60, "the job to end")
    proxy = create_proxy_server(config, "127.0.0.1:0")
    proxy.start()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{proxy.public_port}") as channel:
            stub = job_service_pb2_grpc.JobServiceStub(channel)
            jobs = stub.ListJobs(job_service_pb2.ListJobsRequest(), timeout=10)
            assert job_id in {row.f_job_id for row in jobs.data}
            # A server stream is forwarded too, and so are the core's errors.
            log = list(stub.DownloadJobLog(job_service_pb2.DownloadJobLogRequest(job_id=job_id)))
            assert log[0].filename == f"job_{job_id}_log.tar.gz" and log[0].chunk
            with pytest.raises(grpc.RpcError) as caught:
                list(
                    stub.DownloadJobLog(
                        job_service_pb2.DownloadJobLogRequest(job_id="20200101000000000404")
                    )
                )
            assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    finally:
        proxy.stop(None).wait()


def test_large_payloads_reach_local_readers_as_files_and_small_ones_as_chunks(
    parties: dict[int, NodeProcess],
) -> None:
    job_id = new_job()
    mailbox = parties[HOST].data_dir / "mailbox" / "jobs" / job_id
    payloads = {
        "small": b"s" * 1024,
        "large": b"l" * (3 * 1024 * 1024),
        "filed": b"f" * 2**21,
        "streamed": b"t" * 2**21,
    }
    with federation(parties, AT_GUEST, job_id) as guest:
        for tag, payload in payloads.items():
            guest.remote(payload, "Var.f", tag, [AT_HOST])
    with federation(parties, AT_HOST, job_id) as host:
        assert host.get("Var.f", "small", [AT_GUEST], 10) == [payloads["small"]]
        assert host.get("Var.f", "large", [AT_GUEST], 10) == [payloads["large"]]
    # The reader removed the file it was handed; the mailbox keeps only the read markers.
    assert (
        sorted(p.suffix for p in mailbox.iterdir())
        == [".bin", ".bin", ".done", ".done"] + [".hdr"] * 2
    )
    key = proxy_pb.ObjectKey(
        session_id=f"{job_id}_lr_0_0",
        name="Var.f",
        tag="filed",
        src_role="guest",
        src_party_id=GUEST,
        dst_role="host",
        dst_party_id=HOST,
    )
    with grpc.insecure_channel(parties[HOST].local_proxy_address) as channel:
        stub = proxy_service_pb2_grpc.ProxyServiceStub(channel)
        request = proxy_pb.PullRequest(job_id=job_id, key=key, timeout_ms=5000, accept_file=True)
        header, handed = stub.Pull(request, timeout=10)
        assert header.HasField("header") and handed.HasField("payload_file")
        assert Path(handed.payload_file).parent == mailbox
        assert Path(handed.payload_file).read_bytes() == payloads["filed"]
        # A reader that does not read files gets chunks, whatever the size.
        key.tag = "streamed"
        responses = list(
            stub.Pull(proxy_pb.PullRequest(job_id=job_id, key=key, timeout_ms=5000), timeout=10)
        )
    assert responses[0].HasField("header")
    assert all(r.HasField("chunk") for r in responses[1:])
    assert b"".join(r.chunk for r in responses[1:]) == payloads["streamed"]
