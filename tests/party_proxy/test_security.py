"""Proofs of origin without processes: replays, clocks, restarts, certificates."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest

from fateflow_grpc.config import Tls, TlsMode
from fateflow_grpc.errors import FederatedError, PermissionDenied, Unauthenticated
from party_proxy.security import Authority, Identity, NonceCache, Signer
from tests.multiparty.certs import CertificateAuthority

FIELDS: list[object] = ["/fateflow.party.v1.PartyService/StopJob", "digest"]


class Context:
    """What `Signer.prove` reads of a call: its metadata."""

    def __init__(self, metadata: tuple[tuple[str, str | bytes], ...]) -> None:
        self._metadata = metadata

    def invocation_metadata(self) -> tuple[tuple[str, str | bytes], ...]:
        return self._metadata


def prove(signer: Signer, metadata: tuple[tuple[str, str | bytes], ...], claimed: int) -> None:
    signer.prove(Context(metadata), claimed, FIELDS)  # type: ignore[arg-type]


def test_a_nonce_is_remembered_while_its_proof_is_valid() -> None:
    now = [1000.0]
    cache = NonceCache(clock=lambda: now[0])
    assert cache.first_use("a", expires=1300.0)
    assert not cache.first_use("a", expires=1300.0)
    now[0] = 1301.0  # the proof expired: its nonce is forgotten, and its proof refused anyway
    assert cache.first_use("b", expires=1601.0) and len(cache) == 1


def test_a_proof_made_before_the_receiver_started_is_sent_again() -> None:
    sender = Signer(1, {2: "s"}, clock=lambda: 1000.0)
    metadata = sender.metadata(2, FIELDS)
    restarted = Signer(2, {1: "s"}, clock=lambda: 1001.0)  # started after the proof was made
    with pytest.raises(FederatedError, match="restarted after party 1 signed"):
        prove(restarted, metadata, 1)
    assert FederatedError.status == grpc.StatusCode.UNAVAILABLE.name
    running = Signer(2, {1: "s"}, clock=lambda: 999.0)
    prove(running, metadata, 1)


@pytest.fixture
def authority(tmp_path: Path) -> CertificateAuthority:
    return CertificateAuthority(tmp_path / "ca")


def signer_of(party: int, authority: CertificateAuthority, *, expired: bool = False) -> Signer:
    identity = authority.party(party, expired=expired)
    mine = Identity.load(Tls(TlsMode.MTLS, cert=identity.cert, key=identity.key))
    return Signer(party, {}, identities=lambda _: mine)


def test_a_certificate_proof_is_checked_against_the_receivers_authority(
    authority: CertificateAuthority, tmp_path: Path
) -> None:
    receiver = Signer(2, {}, authority=Authority(authority.cert.read_bytes()))
    prove(receiver, signer_of(1, authority).metadata(2, FIELDS), 1)
    with pytest.raises(PermissionDenied, match="names party 1, not party 3"):
        prove(receiver, signer_of(1, authority).metadata(2, FIELDS), 3)
    rogue = CertificateAuthority(tmp_path / "rogue", "rogue CA")
    with pytest.raises(Unauthenticated, match="not issued by this party's CA"):
        prove(receiver, signer_of(1, rogue).metadata(2, FIELDS), 1)
    without_ca = Signer(2, {})
    with pytest.raises(Unauthenticated, match="no proxy_tls ca"):
        prove(without_ca, signer_of(1, authority).metadata(2, FIELDS), 1)


def test_an_expired_certificate_proves_nothing(authority: CertificateAuthority) -> None:
    receiver = Signer(2, {}, authority=Authority(authority.cert.read_bytes()))
    with pytest.raises(Unauthenticated, match="not valid now"):
        prove(receiver, signer_of(1, authority, expired=True).metadata(2, FIELDS), 1)
