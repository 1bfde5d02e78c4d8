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
from google.protobuf.descriptor import MethodDescriptor
from google.protobuf.message import Message

from fateflow.party.v1 import party_service_pb2, party_service_pb2_grpc
from fateflow.proxy.v1 import proxy_service_pb2 as pb
from fateflow.proxy.v1 import proxy_service_pb2_grpc
from fateflow_grpc.config import Tls, TlsMode
from fateflow_grpc.domain.parties import PartyRole
from fateflow_grpc.errors import InvalidArgument
from fateflow_grpc.federation.client import Federation
from party_proxy import security
from party_proxy.security import (
    DST_PARTY,
    SIGNATURE,
    SRC_PARTY,
    TIMESTAMP,
    Metadata,
    Signer,
    call_fields,
)
from tests.multiparty.certs import CertificateAuthority, Identity
from tests.multiparty.cluster import NodeProcess, wait_for
from tests.multiparty.test_scheduling import (
    GUEST,
    HOST,
    chain,
    conf_v2,
    statuses,
    submit,
    wait_final,
)

ROLES = {"guest": [GUEST], "host": [HOST]}
AT_GUEST, AT_HOST = PartyRole("guest", GUEST), PartyRole("host", HOST)
#: A party the host knows (it shares a secret with it) but that plays no part in the jobs.
OTHER = 7
#: A job id no party has.
JOB_ID = "202001010000000000000"
GET_JOB_STATUS = "/fateflow.party.v1.PartyService/GetJobStatus"
PARTY_SERVICE = party_service_pb2.DESCRIPTOR.services_by_name["PartyService"]
ESCAPING = "../../escaped"
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
    """Guest and host linked by mutual TLS only: no shared secret at all. Both relay, as a
    proxy other parties use as their default route does."""
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
            proxy_relay=True,
        )
    yield start(nodes)
    stop(nodes)


def test_mtls_link_carries_jobs_and_objects(mtls: dict[int, NodeProcess]) -> None:
    job_id = submit(mtls[GUEST], chain(1), conf_v2())
    assert wait_final(mtls, job_id)[GUEST] == {"guest": "success"}
    # The job has ended, and its mailboxes with it: the objects travel for another job.
    with (
        Federation(
            "20200101000000000101", "s", AT_GUEST, ROLES, mtls[GUEST].local_proxy_address
        ) as guest,
        Federation(
            "20200101000000000101", "s", AT_HOST, ROLES, mtls[HOST].local_proxy_address
        ) as host,
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
            iter(push_request("20200101000000000001", GUEST, HOST, b"x")), timeout=10
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
            iter(push_request("20200101000000000001", GUEST, HOST, b"x")), timeout=10
        )
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE


def certificate_signer(party: int, identity: Identity) -> Signer:
    """What party `party`'s proxy signs with under mutual TLS: its client certificate."""
    loaded = security.Identity.load(Tls(TlsMode.MTLS, cert=identity.cert, key=identity.key))
    return Signer(party, {}, identities=lambda _: loaded)


def existing(authority: CertificateAuthority, party: int) -> Identity:
    """The identity the fixture made for `party` (making a new one would replace its files)."""
    name = f"party-{party}.fateflow"
    return Identity(authority.directory / f"{name}.pem", authority.directory / f"{name}.key", name)


def test_mtls_port_refuses_a_certificate_naming_another_party(
    mtls: dict[int, NodeProcess], authority: CertificateAuthority
) -> None:
    other = authority.party(OTHER)
    as_other = certificate_signer(OTHER, other)
    claiming_guest = push_request("20200101000000000001", GUEST, HOST, b"x")
    with secure_channel(mtls[HOST], authority.cert, other, f"party-{HOST}.fateflow") as channel:
        proxies = proxy_service_pb2_grpc.ProxyServiceStub(channel)
        with pytest.raises(grpc.RpcError) as caught:
            proxies.Push(
                iter(claiming_guest), metadata=signature(as_other, claiming_guest), timeout=10
            )
        assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
        assert f"names party {OTHER}, not party {GUEST}" in caught.value.details()
        # Its client certificate alone proves nothing, not even its own party.
        with pytest.raises(grpc.RpcError) as caught:
            proxies.Push(iter(push_request("20200101000000000001", OTHER, HOST, b"x")), timeout=10)
        assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
        request = party_service_pb2.GetJobStatusRequest(job_id=JOB_ID)
        forged = tuple(
            (k, v)
            for k, v in as_other.metadata(
                HOST, call_fields(GET_JOB_STATUS, request.SerializeToString())
            )
            if k != SRC_PARTY
        )
        with pytest.raises(grpc.RpcError) as caught:
            party_service_pb2_grpc.PartyServiceStub(channel).GetJobStatus(
                request, metadata=((SRC_PARTY, str(GUEST)), *forged), timeout=10
            )
        assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
        # Its signature does prove its own party.
        own = push_request("20200101000000000001", OTHER, HOST, b"x")
        assert not proxies.Push(iter(own), metadata=signature(as_other, own), timeout=10).duplicate


def test_a_certificate_proof_cannot_be_replayed_altered_or_redirected(
    mtls: dict[int, NodeProcess], authority: CertificateAuthority
) -> None:
    """A relay (or anyone on the path) holding a call the guest really signed."""
    as_guest = certificate_signer(GUEST, existing(authority, GUEST))
    request = party_service_pb2.GetJobStatusRequest(job_id=JOB_ID)
    proof = as_guest.metadata(HOST, call_fields(GET_JOB_STATUS, request.SerializeToString()))
    with secure_channel(
        mtls[HOST], authority.cert, authority.party(OTHER), f"party-{HOST}.fateflow"
    ) as channel:
        stub = party_service_pb2_grpc.PartyServiceStub(channel)

        def refusal(
            request: party_service_pb2.GetJobStatusRequest, proof: Metadata
        ) -> grpc.RpcError:
            with pytest.raises(grpc.RpcError) as caught:
                stub.GetJobStatus(request, metadata=proof, timeout=10)
            return caught.value

        altered = party_service_pb2.GetJobStatusRequest(job_id=JOB_ID[:-1] + "9")
        assert refusal(altered, proof).code() == grpc.StatusCode.UNAUTHENTICATED
        # Accepted once: the host answers that it has no such job.
        assert refusal(request, proof).code() == grpc.StatusCode.NOT_FOUND
        error = refusal(request, proof)
        assert error.code() == grpc.StatusCode.UNAUTHENTICATED and "replay" in error.details()
        for_other = as_guest.metadata(
            OTHER, call_fields(GET_JOB_STATUS, request.SerializeToString())
        )
        redirected = tuple((k, str(HOST) if k == DST_PARTY else v) for k, v in for_other)
        assert refusal(request, redirected).code() == grpc.StatusCode.UNAUTHENTICATED


def test_a_relay_cannot_be_made_to_speak_for_another_party(
    mtls: dict[int, NodeProcess], authority: CertificateAuthority
) -> None:
    """The confused deputy: a third party holding a certificate of the same authority asks the
    guest's proxy to relay, as the guest, a stop of the host's job. The guest's proxy relays
    on its own certificate; the host must not take that certificate for the guest's word."""
    job_id = submit(mtls[GUEST], chain(1), conf_v2(common={"noop_0": {"sleep_seconds": 3}}))
    wait_for(lambda: statuses(mtls[HOST], job_id).get("host") == "running", 60, "the job to run")
    with (
        secure_channel(
            mtls[GUEST], authority.cert, authority.party(OTHER), f"party-{GUEST}.fateflow"
        ) as channel,
        pytest.raises(grpc.RpcError) as caught,
    ):
        party_service_pb2_grpc.PartyServiceStub(channel).StopJob(
            party_service_pb2.StopJobRequest(
                job_id=job_id, role="host", party_id=HOST, stop_status="canceled"
            ),
            metadata=((SRC_PARTY, str(GUEST)), (DST_PARTY, str(HOST))),
            timeout=10,
        )
    assert caught.value.code() in (
        grpc.StatusCode.UNAUTHENTICATED,
        grpc.StatusCode.PERMISSION_DENIED,
    ), caught.value
    assert wait_final(mtls, job_id)[HOST] == {"host": "success", "arbiter": "success"}


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


def signature(signer: Signer, requests: list[pb.PushRequest], dst: int = HOST) -> Metadata:
    return signer.metadata(dst, security.header_fields(requests[0].header))


def refused(
    node: NodeProcess, requests: list[pb.PushRequest], metadata: tuple[tuple[str, str | bytes], ...]
) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as caught:
        push(node, requests, metadata)
    return caught.value


def test_a_correctly_signed_push_is_accepted(signed: dict[int, NodeProcess]) -> None:
    requests = push_request("20200101000000000002", GUEST, HOST, b"signed")
    assert not push(
        signed[HOST], requests, signature(Signer(GUEST, {HOST: "guest-and-host"}), requests)
    ).duplicate


def test_a_push_for_another_party_is_refused(signed: dict[int, NodeProcess]) -> None:
    requests = push_request("20200101000000000002", GUEST, OTHER, b"not for the host")
    error = refused(
        signed[HOST], requests, signature(Signer(GUEST, {HOST: "guest-and-host"}), requests)
    )
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    assert f"not for party {OTHER}" in error.details()


def test_an_unsigned_push_is_refused(signed: dict[int, NodeProcess]) -> None:
    requests = push_request("20200101000000000002", GUEST, HOST, b"unsigned")
    error = refused(signed[HOST], requests, ((SRC_PARTY, str(GUEST)),))
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "not signed" in error.details()


def test_a_push_signed_with_a_wrong_secret_is_refused(signed: dict[int, NodeProcess]) -> None:
    requests = push_request("20200101000000000002", GUEST, HOST, b"wrong secret")
    error = refused(signed[HOST], requests, signature(Signer(GUEST, {HOST: "guessed"}), requests))
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "signature" in error.details() and "wrong" in error.details()


def test_a_push_changed_after_signing_is_refused(signed: dict[int, NodeProcess]) -> None:
    requests = push_request("20200101000000000002", GUEST, HOST, b"original")
    metadata = signature(Signer(GUEST, {HOST: "guest-and-host"}), requests)
    forged = push_request(
        "20200101000000000002", GUEST, HOST, b"replaced", message_id=requests[0].header.message_id
    )
    assert refused(signed[HOST], forged, metadata).code() == grpc.StatusCode.UNAUTHENTICATED


def test_an_old_signature_is_refused(signed: dict[int, NodeProcess]) -> None:
    requests = push_request("20200101000000000002", GUEST, HOST, b"old")
    long_ago = Signer(GUEST, {HOST: "guest-and-host"}, clock=lambda: 1_000_000.0)
    metadata = signature(long_ago, requests)
    assert dict(metadata)[TIMESTAMP] == "1000000.000" and SIGNATURE in dict(metadata)
    error = refused(signed[HOST], requests, metadata)
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED and "clock" in error.details()


def test_a_replayed_call_is_refused(signed: dict[int, NodeProcess]) -> None:
    """A recorded call played again within the validity window: objects and control calls."""
    as_guest = Signer(GUEST, {HOST: "guest-and-host"})
    requests = push_request("20200101000000000005", GUEST, HOST, b"replayed")
    metadata = signature(as_guest, requests)
    assert not push(signed[HOST], requests, metadata).duplicate
    error = refused(signed[HOST], requests, metadata)
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED and "replay" in error.details()
    request = party_service_pb2.GetJobStatusRequest(job_id=JOB_ID)
    proof = as_guest.metadata(HOST, call_fields(GET_JOB_STATUS, request.SerializeToString()))
    with grpc.insecure_channel(signed[HOST].proxy_address) as channel:
        stub = party_service_pb2_grpc.PartyServiceStub(channel)
        with pytest.raises(grpc.RpcError) as caught:
            stub.GetJobStatus(request, metadata=proof, timeout=10)
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND  # accepted: no such job
        with pytest.raises(grpc.RpcError) as caught:
            stub.GetJobStatus(request, metadata=proof, timeout=10)
        assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
        assert "replay" in caught.value.details()


def test_a_party_claiming_another_partys_id_is_refused(signed: dict[int, NodeProcess]) -> None:
    """Party 7 shares a secret with the host; it signs with it, but as the guest."""
    as_guest = push_request("20200101000000000002", GUEST, HOST, b"impersonation")
    forged = tuple(
        (k, v)
        for k, v in signature(Signer(OTHER, {HOST: "other-and-host"}), as_guest)
        if k != SRC_PARTY
    )
    error = refused(signed[HOST], as_guest, ((SRC_PARTY, str(GUEST)), *forged))
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    # The same signature over its own id is accepted: the secret is right, the claim was not.
    as_other = push_request("20200101000000000002", OTHER, HOST, b"impersonation")
    assert not push(
        signed[HOST], as_other, signature(Signer(OTHER, {HOST: "other-and-host"}), as_other)
    ).duplicate


def test_an_unsigned_control_call_is_refused(signed: dict[int, NodeProcess]) -> None:
    channel = grpc.insecure_channel(signed[HOST].proxy_address)
    with channel, pytest.raises(grpc.RpcError) as caught:
        party_service_pb2_grpc.PartyServiceStub(channel).StopJob(
            party_service_pb2.StopJobRequest(
                job_id=JOB_ID, role="host", party_id=HOST, stop_status="failed"
            ),
            metadata=((SRC_PARTY, str(GUEST)), (DST_PARTY, str(HOST))),
            timeout=10,
        )
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_a_local_task_sends_and_reads_as_its_own_party_only(signed: dict[int, NodeProcess]) -> None:
    with grpc.insecure_channel(signed[GUEST].local_proxy_address) as channel:
        stub = proxy_service_pb2_grpc.ProxyServiceStub(channel)
        with pytest.raises(grpc.RpcError) as caught:
            stub.Push(
                iter(push_request("20200101000000000003", HOST, HOST, b"as host")), timeout=10
            )
        assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
        key = pb.ObjectKey(name="Var.x", tag="0", src_party_id=GUEST, dst_party_id=HOST)
        with pytest.raises(grpc.RpcError) as caught:
            next(
                stub.Pull(
                    pb.PullRequest(job_id="20200101000000000003", key=key, timeout_ms=100),
                    timeout=10,
                )
            )
        assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED


def whole(requests: list[pb.PushRequest]) -> pb.PushObjectRequest:
    """The same object as one `PushObject` message."""
    header, chunk = requests
    return pb.PushObjectRequest(header=header.header, payload=chunk.chunk)


def test_an_object_pushed_whole_is_checked_as_a_stream_is(signed: dict[int, NodeProcess]) -> None:
    """`PushObject` (an object in one message, how small objects travel) proves its sender as
    `Push` does: unsigned, changed after signing, or sent by a task as another party, it is
    refused; signed, it is kept once."""
    as_guest = Signer(GUEST, {HOST: "guest-and-host"})
    requests = push_request("20200101000000000006", GUEST, HOST, b"whole")
    with grpc.insecure_channel(signed[HOST].proxy_address) as channel:
        stub = proxy_service_pb2_grpc.ProxyServiceStub(channel)
        with pytest.raises(grpc.RpcError) as caught:
            stub.PushObject(whole(requests), metadata=((SRC_PARTY, str(GUEST)),), timeout=10)
        assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
        forged = push_request(
            "20200101000000000006", GUEST, HOST, b"other", message_id=requests[0].header.message_id
        )
        with pytest.raises(grpc.RpcError) as caught:
            stub.PushObject(whole(forged), metadata=signature(as_guest, requests), timeout=10)
        assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
        request = whole(requests)
        assert not stub.PushObject(
            request, metadata=signature(as_guest, requests), timeout=10
        ).duplicate
        assert stub.PushObject(
            request, metadata=signature(as_guest, requests), timeout=10
        ).duplicate
    with grpc.insecure_channel(signed[GUEST].local_proxy_address) as channel:
        with pytest.raises(grpc.RpcError) as caught:
            proxy_service_pb2_grpc.ProxyServiceStub(channel).PushObject(
                whole(push_request("20200101000000000006", HOST, HOST, b"as host")), timeout=10
            )
        assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED


def escaping_request(method: MethodDescriptor) -> Message:
    """A request of `method` whose job id (or model version) would lead out of the data dir."""
    request = getattr(party_service_pb2, method.input_type.name)()
    if method.name in ("LoadModel", "DeployModel"):
        request.model_version = ESCAPING
    elif method.name == "StartTask":
        request.task.job_id = ESCAPING
    elif method.name == "ReportTask":
        request.state.task.job_id = ESCAPING
    else:
        request.job_id = ESCAPING
    return request


#: The PartyService RPCs whose request names a job or a model (GetNodeInfo names nothing).
NAMING = [m for m in PARTY_SERVICE.methods if m.input_type.fields]


@pytest.mark.parametrize("method", NAMING, ids=lambda m: m.name)
def test_every_party_rpc_refuses_an_escaping_job_id(
    signed: dict[int, NodeProcess], method: MethodDescriptor
) -> None:
    """Correctly signed by the guest: the proof is right, the identifier is not."""
    request = escaping_request(method)
    path = f"/{PARTY_SERVICE.full_name}/{method.name}"
    proof = Signer(GUEST, {HOST: "guest-and-host"}).metadata(
        HOST, call_fields(path, request.SerializeToString())
    )
    base = signed[HOST].data_dir.parent
    with grpc.insecure_channel(signed[HOST].proxy_address) as channel:
        call = channel.unary_unary(path, request_serializer=type(request).SerializeToString)
        with pytest.raises(grpc.RpcError) as caught:
            call(request, metadata=proof, timeout=10)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT, caught.value.details()
    assert f"{ESCAPING!r} is not valid" in caught.value.details()
    assert not list(base.parent.rglob("escaped")) and not list(base.rglob("escaped"))


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
    job_id = "20200101000000000004"
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


# --- through a relay, in both modes ---------------------------------------------------------------

#: A party that only relays between the guest and the host (an exchange).
RELAY = 8


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["tls+hmac", "mtls"])
def test_jobs_and_objects_cross_a_relay_with_their_senders_proofs(
    tmp_path: Path, authority: CertificateAuthority, mode: str
) -> None:
    """Guest and host reach each other only through a relay's proxy, which holds no secret of
    theirs: under TLS the shared secret proves each party, under mutual TLS its certificate's
    signature. TLS alone proves nothing."""
    nodes = {p: NodeProcess(p, tmp_path / str(p)) for p in (GUEST, HOST, RELAY)}
    identities = {p: authority.party(p) for p in nodes}

    def route(me: int, to: int) -> dict[str, object]:
        """Party `me`'s route to party `to`'s proxy."""
        if mode == "mtls":
            link = tls("mtls", authority.cert, identities[me], identities[to].name)
        else:
            link = {
                "mode": "tls",
                "ca": str(authority.cert),
                "server_name": identities[to].name,
            }
        return {"address": nodes[to].proxy_address, "tls": link}

    for party, node in nodes.items():
        other = {GUEST: HOST, HOST: GUEST}.get(party)
        node.settings.update(
            proxy_tls=tls(
                "mtls" if mode == "mtls" else "tls",
                authority.cert,
                identities[party],
            ),
            routes=(
                {GUEST: route(RELAY, GUEST), HOST: route(RELAY, HOST)}
                if other is None
                else {other: route(party, RELAY)}
            ),
            party_secrets={other: "guest-and-host"} if mode != "mtls" and other else {},
            proxy_relay=other is None,
        )
    start(nodes)
    try:
        job_id = submit(nodes[GUEST], chain(1), conf_v2())
        parties = {GUEST: nodes[GUEST], HOST: nodes[HOST]}
        assert wait_final(parties, job_id)[HOST] == {"host": "success", "arbiter": "success"}
        with (
            Federation(JOB_ID, "s", AT_GUEST, ROLES, nodes[GUEST].local_proxy_address) as guest,
            Federation(JOB_ID, "s", AT_HOST, ROLES, nodes[HOST].local_proxy_address) as host,
        ):
            guest.remote({"via": "relay"}, "Var.t", "0", [AT_HOST])
            assert host.get("Var.t", "0", [AT_GUEST], 10) == [{"via": "relay"}]
            host.remote(np.arange(8), "Var.u", "0", [AT_GUEST])
            assert np.array_equal(guest.get("Var.u", "0", [AT_HOST], 10)[0], np.arange(8))
        client = identities[RELAY] if mode == "mtls" else None
        channel = secure_channel(nodes[HOST], authority.cert, client, identities[HOST].name)
        with channel, pytest.raises(grpc.RpcError) as caught:
            proxy_service_pb2_grpc.ProxyServiceStub(channel).Push(
                iter(push_request(JOB_ID, GUEST, HOST, b"x")), timeout=10
            )
        assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
    finally:
        stop(nodes)
