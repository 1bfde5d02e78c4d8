"""How proxies prove to each other which party a call comes from, end to end.

Links between proxies run plaintext, TLS or mutual TLS, per route (`Route.tls`) and on the
proxy's own public port (`NodeConfig.proxy_tls`). TLS protects each hop; it says nothing about
where a relayed call started, so a client certificate alone proves nothing here. Instead every
call that crosses a public port (a `fateflow.party.v1` call, or a federation object's push)
carries a **proof of origin**, made by the proxy of the party that sends it (its local
endpoint signs what its node sends) and checked by the proxy of the party it is for. A proxy
in between (a relay) passes the proof on unchanged, and can neither make, change nor redirect
one. A proof covers, in a canonical JSON list:

    [scheme, source party, destination party, timestamp, nonce, *what the call asserts]

where what a call asserts is a control call's method and the SHA-256 of its request bytes, or
a push's object header (every field, the payload's digest included, which the receiver checks
against the bytes it gets). It is made one of two ways:

- **hmac**: HMAC-SHA256 with the secret the two parties share (`NodeConfig.party_secrets`,
  the same string at both ends), in `fateflow-signature`.
- **certificate**: a signature by the private key of the sender's mutual-TLS client
  certificate (the `tls.key` of its route to the destination), in
  `fateflow-certificate-signature-bin`, with the certificate in `fateflow-certificate-bin`.
  It is accepted if that certificate was issued by the receiver's `proxy_tls.ca`, is valid
  now, and names the source party by the SAN URI `fateflow://party/<party id>`.

A proxy sends hmac when it shares a secret with the destination, else a certificate proof
when its route there is mutual TLS. The receiver refuses a call without a valid proof
(UNAUTHENTICATED; PERMISSION_DENIED when a certificate names another party), a proof more
than `MAX_SIGNATURE_AGE_S` away from its clock, and a nonce it accepted before: every nonce
is remembered for as long as its proof is valid, so a recorded call cannot be played again.
That memory starts when the proxy starts, so a proof dated earlier is refused too, as
UNAVAILABLE: its sender retries with a fresh proof. A node with neither secrets nor
certificates accepts no call from another party: there is no unauthenticated mode.
"""

from __future__ import annotations

import datetime
import hashlib
import heapq
import hmac
import json
import secrets
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import grpc
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import (
    CertificateIssuerPublicKeyTypes,
    PrivateKeyTypes,
)

from fateflow.proxy.v1 import proxy_service_pb2 as pb
from fateflow_grpc.config import NodeConfig, Route, Tls, TlsMode
from fateflow_grpc.errors import FederatedError, InvalidArgument, PermissionDenied, Unauthenticated

#: Metadata keys of a call between proxies.
SRC_PARTY = "fateflow-src-party-id"
DST_PARTY = "fateflow-dst-party-id"
TIMESTAMP = "fateflow-timestamp"
NONCE = "fateflow-nonce"
SIGNATURE = "fateflow-signature"
CERTIFICATE = "fateflow-certificate-bin"
CERTIFICATE_SIGNATURE = "fateflow-certificate-signature-bin"
#: The SAN URI prefix that names a party in a certificate.
PARTY_URI = "fateflow://party/"
#: How old (or, with clocks apart, how far ahead) a proof may be, in seconds.
MAX_SIGNATURE_AGE_S = 300.0
#: Nonces are 128 random bits in hex; a longer one is refused before anything is stored.
MAX_NONCE_LENGTH = 64

Metadata = tuple[tuple[str, str | bytes], ...]


def _read(path: Path | None, what: str) -> bytes | None:
    if path is None:
        return None
    try:
        return path.read_bytes()
    except OSError as error:
        raise InvalidArgument(f"cannot read the {what} {path}: {error.strerror}") from None


def channel(route: Route, options: Sequence[tuple[str, object]]) -> grpc.Channel:
    """A channel to another party's proxy, secured as its route says."""
    tls = route.tls
    if tls.mode == TlsMode.PLAINTEXT:
        return grpc.insecure_channel(route.address, options=options)
    if tls.mode == TlsMode.MTLS and (tls.cert is None or tls.key is None):
        raise InvalidArgument(f"the mtls route to {route.address} needs cert and key")
    credentials = grpc.ssl_channel_credentials(
        root_certificates=_read(tls.ca, "CA certificate"),
        private_key=_read(tls.key, "private key") if tls.mode == TlsMode.MTLS else None,
        certificate_chain=_read(tls.cert, "certificate") if tls.mode == TlsMode.MTLS else None,
    )
    if tls.server_name:
        options = [*options, ("grpc.ssl_target_name_override", tls.server_name)]
    return grpc.secure_channel(route.address, credentials, options=options)


def add_public_port(server: grpc.Server, address: str, tls: Tls) -> int:
    """Bind the proxy's public port as `tls` says; returns the port."""
    if tls.mode == TlsMode.PLAINTEXT:
        return server.add_insecure_port(address)
    key, cert = _read(tls.key, "private key"), _read(tls.cert, "certificate")
    if key is None or cert is None:
        raise InvalidArgument(f"proxy_tls mode {tls.mode} needs cert and key")
    ca = _read(tls.ca, "CA certificate")
    if tls.mode == TlsMode.MTLS and ca is None:
        raise InvalidArgument("proxy_tls mode mtls needs the ca that signs the clients")
    credentials = grpc.ssl_server_credentials(
        [(key, cert)],
        root_certificates=ca if tls.mode == TlsMode.MTLS else None,
        require_client_auth=tls.mode == TlsMode.MTLS,
    )
    return server.add_secure_port(address, credentials)


def header_fields(header: pb.ObjectHeader) -> list[object]:
    """What a push asserts: every field of its object header, in a fixed order."""
    key = header.key
    return [
        "push",
        header.message_id,
        header.job_id,
        key.session_id,
        key.name,
        key.tag,
        key.src_role,
        key.src_party_id,
        key.dst_role,
        key.dst_party_id,
        header.kind,
        header.dtype,
        list(header.shape),
        header.size,
        header.digest.hex(),
    ]


def call_fields(method: str, request: bytes) -> list[object]:
    """What a control call asserts: its method and the digest of its request."""
    return [method, hashlib.sha256(request).hexdigest()]


def _material(
    scheme: str, src: int, dst: int, timestamp: str, nonce: str, fields: list[object]
) -> bytes:
    return json.dumps([scheme, src, dst, timestamp, nonce, *fields], separators=(",", ":")).encode()


def _mac(secret: str, material: bytes) -> str:
    return hmac.new(secret.encode(), material, hashlib.sha256).hexdigest()


# --- certificate proofs -----------------------------------------------------------------------


def _sign(key: PrivateKeyTypes, data: bytes) -> bytes:
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(data, ec.ECDSA(hashes.SHA256()))
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    if isinstance(key, ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey):
        return key.sign(data)
    raise InvalidArgument(f"cannot sign with a {type(key).__name__} key: use EC, RSA or Ed25519")


def _verify(key: CertificateIssuerPublicKeyTypes, signature: bytes, data: bytes) -> bool:
    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
        elif isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
        elif isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
            key.verify(signature, data)
        else:
            return False
    except InvalidSignature:
        return False
    return True


@dataclass(frozen=True)
class Identity:
    """A party's certificate (DER) and its private key, which sign certificate proofs."""

    certificate: bytes
    key: PrivateKeyTypes

    @classmethod
    def load(cls, tls: Tls) -> Identity:
        cert, key = _read(tls.cert, "certificate"), _read(tls.key, "private key")
        if cert is None or key is None:
            raise InvalidArgument("an mtls route needs cert and key")
        return cls(
            x509.load_pem_x509_certificate(cert).public_bytes(serialization.Encoding.DER),
            serialization.load_pem_private_key(key, password=None),
        )


def certificate_parties(certificate: x509.Certificate) -> set[int]:
    """The parties a certificate names by SAN URI."""
    try:
        names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return set()
    parties = set()
    for uri in names.value.get_values_for_type(x509.UniformResourceIdentifier):
        if uri.startswith(PARTY_URI) and uri[len(PARTY_URI) :].isdigit():
            parties.add(int(uri[len(PARTY_URI) :]))
    return parties


class Authority:
    """The CA certificates a receiver trusts to name parties; checked certificates are cached."""

    def __init__(self, pem: bytes) -> None:
        self._cas = x509.load_pem_x509_certificates(pem)
        self._checked: dict[bytes, tuple[x509.Certificate, set[int]]] = {}

    def parties(self, der: bytes) -> tuple[x509.Certificate, set[int]]:
        """The certificate and the parties it names, if a trusted CA issued it and it is valid
        now; InvalidArgument otherwise."""
        if der not in self._checked:
            try:
                certificate = x509.load_der_x509_certificate(der)
            except ValueError:
                raise InvalidArgument("the proof's certificate cannot be read") from None
            if not any(_issued_by(certificate, ca) for ca in self._cas):
                raise InvalidArgument("the proof's certificate is not issued by this party's CA")
            if len(self._checked) > 1000:
                self._checked.clear()
            self._checked[der] = (certificate, certificate_parties(certificate))
        certificate, parties = self._checked[der]
        now = datetime.datetime.now(datetime.UTC)
        if not certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc:
            raise InvalidArgument("the proof's certificate is not valid now")
        return certificate, parties


def _issued_by(certificate: x509.Certificate, ca: x509.Certificate) -> bool:
    try:
        certificate.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


# --- replays ----------------------------------------------------------------------------------


class NonceCache:
    """The nonces of the proofs accepted while they are valid: a second use is a replay."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._seen: set[str] = set()
        self._expiries: list[tuple[float, str]] = []
        self._lock = threading.Lock()

    def first_use(self, nonce: str, expires: float) -> bool:
        """Remember `nonce` until `expires`; False if it is remembered already."""
        now = self._clock()
        with self._lock:
            while self._expiries and self._expiries[0][0] < now:
                self._seen.discard(heapq.heappop(self._expiries)[1])
            if nonce in self._seen:
                return False
            self._seen.add(nonce)
            heapq.heappush(self._expiries, (expires, nonce))
            return True

    def __len__(self) -> int:
        return len(self._seen)


# --- signing and checking ---------------------------------------------------------------------


class Signer:
    """Makes the proofs of this party's calls, and checks the proofs of calls to it."""

    def __init__(
        self,
        own_party_id: int,
        secrets: Mapping[int, str],
        *,
        identities: Callable[[int], Identity | None] = lambda _: None,
        authority: Authority | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._own = own_party_id
        self._secrets = dict(secrets)
        self._identities = identities
        self._authority = authority
        self._clock = clock
        # To the millisecond, as proofs date themselves: a proof made as this proxy starts is
        # not dated before it.
        self._started = int(clock() * 1000) / 1000
        self._nonces = NonceCache(clock)

    @classmethod
    def for_node(cls, config: NodeConfig) -> Signer:
        """The signer of a node: its secrets, its routes' client certificates, its CA."""
        loaded: dict[int, Identity | None] = {}
        lock = threading.Lock()

        def identity(dst: int) -> Identity | None:
            with lock:
                if dst not in loaded:
                    route = config.route(dst)
                    mtls = route is not None and route.tls.mode == TlsMode.MTLS
                    loaded[dst] = Identity.load(route.tls) if route and mtls else None
                return loaded[dst]

        ca = _read(config.proxy_tls.ca, "CA certificate")
        return cls(
            config.party_id,
            config.party_secrets,
            identities=identity,
            authority=Authority(ca) if ca else None,
        )

    def metadata(self, dst: int, fields: list[object]) -> Metadata:
        """The metadata of a call from this party to `dst`, with its proof when one can be
        made (a secret shared with `dst`, or a client certificate for the route to it)."""
        pairs: Metadata = ((SRC_PARTY, str(self._own)), (DST_PARTY, str(dst)))
        timestamp, nonce = f"{self._clock():.3f}", secrets.token_hex(16)
        secret = self._secrets.get(dst)
        if secret is not None:
            material = _material("hmac", self._own, dst, timestamp, nonce, fields)
            return (
                *pairs,
                (TIMESTAMP, timestamp),
                (NONCE, nonce),
                (SIGNATURE, _mac(secret, material)),
            )
        identity = self._identities(dst)
        if identity is not None:
            material = _material("certificate", self._own, dst, timestamp, nonce, fields)
            return (
                *pairs,
                (TIMESTAMP, timestamp),
                (NONCE, nonce),
                (CERTIFICATE, identity.certificate),
                (CERTIFICATE_SIGNATURE, _sign(identity.key, material)),
            )
        return pairs

    def prove(self, context: grpc.ServicerContext, claimed: int, fields: list[object]) -> None:
        """Return if the call carries a valid proof that party `claimed` sent it to this party,
        made for what it asserts (`fields`) and never used before; raise otherwise."""
        metadata = dict(context.invocation_metadata())
        timestamp, nonce = _text(metadata, TIMESTAMP), _text(metadata, NONCE)
        if SIGNATURE in metadata:
            secret = self._secrets.get(claimed)
            if secret is None:
                raise Unauthenticated(
                    f"party {claimed} is not proven: party {self._own} shares no secret with it",
                    party_id=claimed,
                )
            self._check_time(claimed, timestamp, nonce)
            material = _material("hmac", claimed, self._own, timestamp, nonce, fields)
            if not hmac.compare_digest(_mac(secret, material), _text(metadata, SIGNATURE)):
                raise Unauthenticated(
                    f"the signature of the call from party {claimed} is wrong", party_id=claimed
                )
        elif CERTIFICATE_SIGNATURE in metadata:
            self._check_time(claimed, timestamp, nonce)
            material = _material("certificate", claimed, self._own, timestamp, nonce, fields)
            self._check_certificate(claimed, metadata, material)
        else:
            raise Unauthenticated(
                f"party {claimed} is not proven: the call is not signed (neither a signature "
                "with a shared secret nor one by a certificate naming the party)",
                party_id=claimed,
            )
        if not self._nonces.first_use(nonce, float(timestamp) + MAX_SIGNATURE_AGE_S):
            raise Unauthenticated(
                f"the call from party {claimed} was accepted before: a replay is refused",
                party_id=claimed,
            )

    def _check_time(self, claimed: int, timestamp: str, nonce: str) -> None:
        try:
            signed_at = float(timestamp)
        except ValueError:
            raise Unauthenticated(
                f"the call from party {claimed} has no valid {TIMESTAMP}", party_id=claimed
            ) from None
        if not 0 < len(nonce) <= MAX_NONCE_LENGTH:
            raise Unauthenticated(
                f"the call from party {claimed} has no valid {NONCE}", party_id=claimed
            )
        now = self._clock()
        if abs(now - signed_at) > MAX_SIGNATURE_AGE_S:
            raise Unauthenticated(
                f"the proof of party {claimed} is {abs(now - signed_at):.0f} s away from this "
                "party's clock",
                party_id=claimed,
            )
        if signed_at < self._started:
            # The nonces seen before this proxy started are forgotten; a fresh proof is not.
            raise FederatedError(
                f"party {self._own}'s proxy restarted after party {claimed} signed this call; "
                "send it again",
                party_id=claimed,
            )

    def _check_certificate(
        self, claimed: int, metadata: Mapping[str, str | bytes], material: bytes
    ) -> None:
        if self._authority is None:
            raise Unauthenticated(
                f"party {claimed} is not proven: party {self._own} has no proxy_tls ca to check "
                "certificate proofs with",
                party_id=claimed,
            )
        certificate_der, signature = metadata.get(CERTIFICATE), metadata[CERTIFICATE_SIGNATURE]
        if not isinstance(certificate_der, bytes) or not isinstance(signature, bytes):
            raise Unauthenticated(f"the proof of party {claimed} has no certificate")
        try:
            certificate, named = self._authority.parties(certificate_der)
        except InvalidArgument as error:
            raise Unauthenticated(
                f"party {claimed} is not proven: {error.message}", party_id=claimed
            ) from None
        if claimed not in named:
            raise PermissionDenied(
                f"the proof's certificate names party {', '.join(map(str, sorted(named)))}, "
                f"not party {claimed}",
                party_id=claimed,
            )
        public_key = cast(CertificateIssuerPublicKeyTypes, certificate.public_key())
        if not _verify(public_key, signature, material):
            raise Unauthenticated(
                f"the signature of the call from party {claimed} is wrong", party_id=claimed
            )


def _text(metadata: Mapping[str, str | bytes], key: str) -> str:
    value = metadata.get(key, "")
    return value if isinstance(value, str) else ""
