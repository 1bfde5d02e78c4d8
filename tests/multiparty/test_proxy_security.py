"""Party authentication at the proxies: mutual TLS, HMAC signatures, impersonation, the local
endpoint's limits, and payloads that try to smuggle code. Certificates are made here."""

from __future__ import annotations

import hashlib
import pickle
from collections.abc import Iterator
from pathlib import Path

import grpc
import numpy as np
import pytest

from fateflow.party.v1 import party_service_pb2, party_service_pb2_grpc
from fateflow.proxy.v1 import proxy_service_pb2 as pb
from fateflow.proxy.v1 import proxy_service_pb2_grpc
from fateflow_grpc.domain.parties import PartyRole
from fateflow_grpc.errors import InvalidArgument
from fateflow_grpc.federation.client import Federation
from party_proxy import security
from party_proxy.security import DST_PARTY, SIGNATURE, SRC_PARTY, TIMESTAMP, Signer
from tests.multiparty.certs import CertificateAuthority, Identity
from tests.multiparty.cluster import NodeProcess
from tests.multiparty.test_scheduling import GUEST, HOST, chain, conf_v2, submit, wait_final

ROLES = {"guest": [GUEST], "host": [HOST]}
AT_GUEST, AT_HOST = PartyRole("guest", GUEST), PartyRole("host", HOST)
#: A party the host knows (it shares a secret with it) but that plays no part in the jobs.
OTHER = 7
SECRETS = {frozenset((GUEST, HOST)): "guest-and-host", frozenset((OTHER, HOST)): "other-and-host"}


def start(nodes: dict[int, NodeProcess]) -> dict[int, NodeProcess]:
    for node in nodes.values():
        node.write_config({})  # routes and secrets are in each node's settings
        node.start()
    return nodes


def stop(nodes: dict[int, NodeProcess]) -> None:
    for node in nodes.values():
        node.stop()


def tls(mode: str, ca: Path, identity: Identity, server_name: str = "") -> dict[str, str]:
    settings = {"mode": mode, "ca": str(ca), "cert": str(identity.cert), "key": str(identity.key)}
    return {**settings, "server_name": server_name} if server_name else settings


# --- mutual TLS ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def authority(tmp_path_factory: pytest.TempPathFactory) -> CertificateAuthority:
    return CertificateAuthority(tmp_path_factory.mktemp("ca"))


@pytest.fixture(scope="module")
def mtls(
    tmp_path_factory: pytest.TempPathFactory, authority: CertificateAuthority
) -> Iterator[dict[int, NodeProcess]]:
    """Guest and host linked by mutual TLS only: no shared secret at all."""
    base = tmp_path_factory.mktemp("mtls")
    nodes = {p: NodeProcess(p, base / str(p)) for p in (GUEST, HOST)}
    for party, node in nodes.items():
        other = nodes[HOST if party == GUEST else GUEST]
        mine, theirs = authority.party(party), authority.party(other.party_id)
        node.settings.update(
            proxy_tls=tls("mtls", authority.cert, mine),
            routes={
                other.party_id: {
                    "address": other.proxy_address,
                    "tls": tls("mtls", authority.cert, mine, theirs.name),
                }
            },
            party_secrets={},
        )
    yield start(nodes)
    stop(nodes)


def test_mtls_link_carries_jobs_and_objects(mtls: dict[int, NodeProcess]) -> None:
    job_id = submit(mtls[GUEST], chain(1), conf_v2())
    assert wait_final(mtls, job_id)[GUEST] == {"guest": "success"}
    # The job has ended, and its mailboxes with it: the objects travel for another job.
    with (
        Federation("objects", "s", AT_GUEST, ROLES, mtls[GUEST].local_proxy_address) as guest,
        Federation("objects", "s", AT_HOST, ROLES, mtls[HOST].local_proxy_address) as host,
    ):
        guest.remote(np.arange(256), "Var.a", "0", [AT_HOST])
        assert np.array_equal(host.get("Var.a", "0", [AT_GUEST], 10)[0], np.arange(256))
        host.remote("back", "Var.b", "0", [AT_GUEST])
        assert guest.get("Var.b", "0", [AT_HOST], 10) == ["back"]


def push_request(
    job_id: str, src: int, dst: int, payload: bytes, **header: object
) -> list[pb.PushRequest]:
    key = pb.ObjectKey(
        session_id="s",
        name="Var.x",
        tag="0",
        src_role="guest",
        src_party_id=src,
        dst_role="host",
        dst_party_id=dst,
    )
    fields = {
        "message_id": hashlib.sha256(payload + str(header).encode()).hexdigest()[:32],
        "job_id": job_id,
        "key": key,
        "kind": pb.PAYLOAD_KIND_BYTES,
        "size": len(payload),
        "digest": hashlib.sha256(payload).digest(),
        **header,
    }
    return [pb.PushRequest(header=pb.ObjectHeader(**fields)), pb.PushRequest(chunk=payload)]


def secure_channel(
    node: NodeProcess, ca: Path, client: Identity | None, server_name: str
) -> grpc.Channel:
    credentials = grpc.ssl_channel_credentials(
        ca.read_bytes(),
        client.key.read_bytes() if client else None,
        client.cert.read_bytes() if client else None,
    )
    return grpc.secure_channel(
        node.proxy_address, credentials, options=[("grpc.ssl_target_name_override", server_name)]
    )


def test_mtls_port_refuses_a_client_without_certificate(
    mtls: dict[int, NodeProcess], authority: CertificateAuthority
) -> None:
    channel = secure_channel(mtls[HOST], authority.cert, None, f"party-{HOST}.fateflow")
    with channel, pytest.raises(grpc.RpcError) as caught:
        proxy_service_pb2_grpc.ProxyServiceStub(channel).Push(
            iter(push_request("j1", GUEST, HOST, b"x")), timeout=10
        )
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE


def test_mtls_port_refuses_a_certificate_of_another_authority(
    mtls: dict[int, NodeProcess], authority: CertificateAuthority, tmp_path: Path
) -> None:
    rogue = CertificateAuthority(tmp_path, "rogue CA")
    with (
        secure_channel(
            mtls[HOST], authority.cert, rogue.party(GUEST), f"party-{HOST}.fateflow"
        ) as channel,
        pytest.raises(grpc.RpcError) as caught,
    ):
        proxy_service_pb2_grpc.ProxyServiceStub(channel).Push(
            iter(push_request("j1", GUEST, HOST, b"x")), timeout=10
        )
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE


def test_mtls_port_refuses_a_certificate_naming_another_party(
    mtls: dict[int, NodeProcess], authority: CertificateAuthority
) -> None:
    with secure_channel(
        mtls[HOST], authority.cert, authority.party(OTHER), f"party-{HOST}.fateflow"
    ) as channel:
        with pytest.raises(grpc.RpcError) as caught:
            proxy_service_pb2_grpc.ProxyServiceStub(channel).Push(
                iter(push_request("j1", GUEST, HOST, b"x")), timeout=10
            )
        assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
        assert f"names party {OTHER}, not party {GUEST}" in caught.value.details()
        with pytest.raises(grpc.RpcError) as caught:
            party_service_pb2_grpc.PartyServiceStub(channel).GetJobStatus(
                party_service_pb2.GetJobStatusRequest(job_id="j1"),
                metadata=((SRC_PARTY, str(GUEST)), (DST_PARTY, str(HOST))),
                timeout=10,
            )
        assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
        # The same certificate does prove its own party.
        response = proxy_service_pb2_grpc.ProxyServiceStub(channel).Push(
            iter(push_request("j1", OTHER, HOST, b"x")), timeout=10
        )
        assert not response.duplicate


# --- HMAC signatures ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[int, NodeProcess]]:
    """Plaintext links; each party proves itself with the secret it shares with the other."""
    base = tmp_path_factory.mktemp("hmac")
    nodes = {p: NodeProcess(p, base / str(p)) for p in (GUEST, HOST)}
    for party, node in nodes.items():
        other = HOST if party == GUEST else GUEST
        node.settings.update(
            routes={other: {"address": nodes[other].proxy_address}},
            party_secrets={
                p: secret
                for pair, secret in SECRETS.items()
                if party in pair
                for p in pair - {party}
            },
        )
    yield start(nodes)
    stop(nodes)


def push(
    node: NodeProcess, requests: list[pb.PushRequest], metadata: tuple[tuple[str, str | bytes], ...]
) -> pb.PushResponse:
    with grpc.insecure_channel(node.proxy_address) as channel:
        response: pb.PushResponse = proxy_service_pb2_grpc.ProxyServiceStub(channel).Push(
            iter(requests), metadata=metadata, timeout=10
        )
        return response


def signature(
    signer: Signer, requests: list[pb.PushRequest], dst: int = HOST
) -> tuple[tuple[str, str | bytes], ...]:
    return signer.metadata(dst, ["push", *security.header_fields(requests[0].header)])


def refused(
    node: NodeProcess, requests: list[pb.PushRequest], metadata: tuple[tuple[str, str | bytes], ...]
) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as caught:
        push(node, requests, metadata)
    return caught.value


def test_a_correctly_signed_push_is_accepted(signed: dict[int, NodeProcess]) -> None:
    requests = push_request("j2", GUEST, HOST, b"signed")
    assert not push(
        signed[HOST], requests, signature(Signer(GUEST, {HOST: "guest-and-host"}), requests)
    ).duplicate


def test_a_push_for_another_party_is_refused(signed: dict[int, NodeProcess]) -> None:
    requests = push_request("j2", GUEST, OTHER, b"not for the host")
    error = refused(
        signed[HOST], requests, signature(Signer(GUEST, {HOST: "guest-and-host"}), requests)
    )
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    assert f"not for party {OTHER}" in error.details()


def test_an_unsigned_push_is_refused(signed: dict[int, NodeProcess]) -> None:
    requests = push_request("j2", GUEST, HOST, b"unsigned")
    error = refused(signed[HOST], requests, ((SRC_PARTY, str(GUEST)),))
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "not signed" in error.details()


def test_a_push_signed_with_a_wrong_secret_is_refused(signed: dict[int, NodeProcess]) -> None:
    requests = push_request("j2", GUEST, HOST, b"wrong secret")
    error = refused(signed[HOST], requests, signature(Signer(GUEST, {HOST: "guessed"}), requests))
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "signature" in error.details() and "wrong" in error.details()


def test_a_push_changed_after_signing_is_refused(signed: dict[int, NodeProcess]) -> None:
    requests = push_request("j2", GUEST, HOST, b"original")
    metadata = signature(Signer(GUEST, {HOST: "guest-and-host"}), requests)
    forged = push_request("j2", GUEST, HOST, b"replaced", message_id=requests[0].header.message_id)
    assert refused(signed[HOST], forged, metadata).code() == grpc.StatusCode.UNAUTHENTICATED


def test_an_old_signature_is_refused(
    signed: dict[int, NodeProcess], monkeypatch: pytest.MonkeyPatch
) -> None:
    requests = push_request("j2", GUEST, HOST, b"replayed")
    monkeypatch.setattr(security.time, "time", lambda: 1_000_000.0)  # signed long ago
    metadata = signature(Signer(GUEST, {HOST: "guest-and-host"}), requests)
    monkeypatch.undo()
    assert dict(metadata)[TIMESTAMP] == "1000000.000" and SIGNATURE in dict(metadata)
    error = refused(signed[HOST], requests, metadata)
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED and "clock" in error.details()


def test_a_party_claiming_another_partys_id_is_refused(signed: dict[int, NodeProcess]) -> None:
    """Party 7 shares a secret with the host; it signs with it, but as the guest."""
    as_guest = push_request("j2", GUEST, HOST, b"impersonation")
    forged = tuple(
        (k, v)
        for k, v in signature(Signer(OTHER, {HOST: "other-and-host"}), as_guest)
        if k != SRC_PARTY
    )
    error = refused(signed[HOST], as_guest, ((SRC_PARTY, str(GUEST)), *forged))
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    # The same signature over its own id is accepted: the secret is right, the claim was not.
    as_other = push_request("j2", OTHER, HOST, b"impersonation")
    assert not push(
        signed[HOST], as_other, signature(Signer(OTHER, {HOST: "other-and-host"}), as_other)
    ).duplicate


def test_an_unsigned_control_call_is_refused(signed: dict[int, NodeProcess]) -> None:
    channel = grpc.insecure_channel(signed[HOST].proxy_address)
    with channel, pytest.raises(grpc.RpcError) as caught:
        party_service_pb2_grpc.PartyServiceStub(channel).StopJob(
            party_service_pb2.StopJobRequest(
                job_id="j", role="host", party_id=HOST, stop_status="failed"
            ),
            metadata=((SRC_PARTY, str(GUEST)), (DST_PARTY, str(HOST))),
            timeout=10,
        )
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_a_local_task_sends_and_reads_as_its_own_party_only(signed: dict[int, NodeProcess]) -> None:
    with grpc.insecure_channel(signed[GUEST].local_proxy_address) as channel:
        stub = proxy_service_pb2_grpc.ProxyServiceStub(channel)
        with pytest.raises(grpc.RpcError) as caught:
            stub.Push(iter(push_request("j3", HOST, HOST, b"as host")), timeout=10)
        assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
        key = pb.ObjectKey(name="Var.x", tag="0", src_party_id=GUEST, dst_party_id=HOST)
        with pytest.raises(grpc.RpcError) as caught:
            next(stub.Pull(pb.PullRequest(job_id="j3", key=key, timeout_ms=100), timeout=10))
        assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED


# --- payloads that try to carry code ------------------------------------------------------------


class Exploit:
    """Unpickling this creates the marker file: the proof that something unpickled it."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        return (Path.touch, (self.marker,))


def test_a_smuggled_pickle_is_never_unpickled(
    signed: dict[int, NodeProcess], tmp_path: Path
) -> None:
    marker = tmp_path / "unpickled"
    exploit = pickle.dumps(Exploit(marker))
    job_id = "j4"
    local = signed[GUEST].local_proxy_address
    with (
        grpc.insecure_channel(local) as channel,
        Federation(job_id, "s", AT_HOST, ROLES, signed[HOST].local_proxy_address) as host,
    ):
        stub = proxy_service_pb2_grpc.ProxyServiceStub(channel)
        # As raw bytes it crosses, and stays bytes.
        stub.Push(iter(push_request(job_id, GUEST, HOST, exploit)), timeout=10)
        assert host.get("Var.x", "0", [AT_GUEST], 10) == [exploit]
        # As an array of objects or as JSON it is refused when read.
        for tag, header in (
            ("1", {"kind": pb.PAYLOAD_KIND_NDARRAY, "dtype": "|O8", "shape": [len(exploit) // 8]}),
            ("2", {"kind": pb.PAYLOAD_KIND_JSON}),
        ):
            requests = push_request(job_id, GUEST, HOST, exploit[: len(exploit) // 8 * 8], **header)
            requests[0].header.key.tag = tag
            stub.Push(iter(requests), timeout=10)
            with pytest.raises(InvalidArgument):
                host.get("Var.x", tag, [AT_GUEST], 10)
        # Of a kind this node does not know, it does not even get in.
        with pytest.raises(grpc.RpcError) as caught:
            stub.Push(iter(push_request(job_id, GUEST, HOST, exploit, kind=99)), timeout=10)
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert not marker.exists()


# --- TLS without client certificates ------------------------------------------------------------


def test_tls_links_prove_parties_by_signature(
    tmp_path: Path, authority: CertificateAuthority
) -> None:
    """Server-authenticated TLS encrypts the link; the shared secret proves the party."""
    nodes = {p: NodeProcess(p, tmp_path / str(p)) for p in (GUEST, HOST)}
    for party, node in nodes.items():
        other = HOST if party == GUEST else GUEST
        mine, theirs = authority.party(party), authority.party(other)
        node.settings.update(
            proxy_tls={"mode": "tls", "cert": str(mine.cert), "key": str(mine.key)},
            routes={
                other: {
                    "address": nodes[other].proxy_address,
                    "tls": {"mode": "tls", "ca": str(authority.cert), "server_name": theirs.name},
                }
            },
            party_secrets={other: "guest-and-host"},
        )
    start(nodes)
    try:
        with (
            Federation("tls", "s", AT_GUEST, ROLES, nodes[GUEST].local_proxy_address) as guest,
            Federation("tls", "s", AT_HOST, ROLES, nodes[HOST].local_proxy_address) as host,
        ):
            guest.remote({"over": "tls"}, "Var.t", "0", [AT_HOST])
            assert host.get("Var.t", "0", [AT_GUEST], 10) == [{"over": "tls"}]
        # Without a signature, TLS alone proves nothing.
        channel = secure_channel(nodes[HOST], authority.cert, None, f"party-{HOST}.fateflow")
        with channel, pytest.raises(grpc.RpcError) as caught:
            proxy_service_pb2_grpc.ProxyServiceStub(channel).Push(
                iter(push_request("tls", GUEST, HOST, b"x")), timeout=10
            )
        assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
    finally:
        stop(nodes)
