"""How proxies prove to each other which party a call comes from.

Links between proxies run plaintext, TLS or mutual TLS, per route (`Route.tls`) and on the
proxy's own public port (`NodeConfig.proxy_tls`). Every call that arrives on the public port
claims a source party (`fateflow-src-party-id`, or the object key's source for a push), and
is accepted only if that party is proven, one of two ways:

- **certificate**: under mutual TLS, the client's certificate (signed by the configured CA)
  carries the SAN URI `fateflow://party/<party id>`; a certificate naming party P proves P.
- **signature**: the caller signs the call with the secret it shares with the receiver
  (`NodeConfig.party_secrets`, the same secret configured at both parties): HMAC-SHA256 over
  a canonical JSON list of what the call asserts (for a push: every field of the object
  header, its payload digest included, which the receiver checks against the bytes it gets;
  for a forwarded control call: the method and the SHA-256 of the request's bytes), with the
  source and destination parties and a timestamp. Signatures older than `MAX_SIGNATURE_AGE_S`
  are refused, so a recorded call cannot be replayed later.

A call whose claimed party is proven neither way is refused: UNAUTHENTICATED when nothing
proves it, PERMISSION_DENIED when a certificate names another party. A node with neither
certificates nor secrets accepts no call from another party: there is no unauthenticated mode.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import cast

import grpc

from fateflow.proxy.v1 import proxy_service_pb2 as pb
from fateflow_grpc.config import Route, Tls, TlsMode
from fateflow_grpc.errors import InvalidArgument, PermissionDenied, Unauthenticated

#: Metadata keys every call between proxies carries.
SRC_PARTY = "fateflow-src-party-id"
DST_PARTY = "fateflow-dst-party-id"
TIMESTAMP = "fateflow-timestamp"
SIGNATURE = "fateflow-signature"
#: The SAN URI prefix that names a party in a certificate.
PARTY_URI = "fateflow://party/"
#: How old (or, with clocks apart, how far ahead) a signature may be, in seconds.
MAX_SIGNATURE_AGE_S = 300.0


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
    """Every field of an object header, in a fixed order, for a signature."""
    key = header.key
    return [
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
    """What a signature of a forwarded control call covers besides the parties."""
    return [method, hashlib.sha256(request).hexdigest()]


def _mac(secret: str, src: int, dst: int, timestamp: str, fields: list[object]) -> str:
    material = json.dumps([src, dst, timestamp, *fields], separators=(",", ":")).encode()
    return hmac.new(secret.encode(), material, hashlib.sha256).hexdigest()


class Signer:
    """Signs and checks calls with the secrets shared with other parties."""

    def __init__(self, own_party_id: int, secrets: Mapping[int, str]) -> None:
        self._own = own_party_id
        self._secrets = dict(secrets)

    def metadata(self, dst: int, fields: list[object]) -> tuple[tuple[str, str | bytes], ...]:
        """Metadata of a call from this party to `dst`, signed when a secret is shared."""
        pairs: tuple[tuple[str, str | bytes], ...] = (
            (SRC_PARTY, str(self._own)),
            (DST_PARTY, str(dst)),
        )
        secret = self._secrets.get(dst)
        if secret is not None:
            timestamp = f"{time.time():.3f}"
            pairs += (
                (TIMESTAMP, timestamp),
                (SIGNATURE, _mac(secret, self._own, dst, timestamp, fields)),
            )
        return pairs

    def prove(self, context: grpc.ServicerContext, claimed: int, fields: list[object]) -> None:
        """Return if the caller proves it is party `claimed`; raise otherwise."""
        named = certificate_parties(context)
        if claimed in named:
            return
        metadata = {
            key: value for key, value in context.invocation_metadata() if isinstance(value, str)
        }
        signature = metadata.get(SIGNATURE)
        if signature is not None:
            self._check_signature(claimed, metadata, signature, fields)
            return
        if named:
            raise PermissionDenied(
                f"the caller's certificate names party {', '.join(map(str, sorted(named)))}, "
                f"not party {claimed}",
                party_id=claimed,
            )
        raise Unauthenticated(
            f"party {claimed} is not proven: no client certificate names it and the call is "
            "not signed",
            party_id=claimed,
        )

    def _check_signature(
        self, claimed: int, metadata: dict[str, str], signature: str, fields: list[object]
    ) -> None:
        secret = self._secrets.get(claimed)
        if secret is None:
            raise Unauthenticated(
                f"party {claimed} is not proven: party {self._own} shares no secret with it",
                party_id=claimed,
            )
        timestamp = metadata.get(TIMESTAMP, "")
        try:
            age = abs(time.time() - float(timestamp))
        except ValueError:
            raise Unauthenticated(
                f"the call from party {claimed} has no valid {TIMESTAMP}", party_id=claimed
            ) from None
        if age > MAX_SIGNATURE_AGE_S:
            raise Unauthenticated(
                f"the signature of party {claimed} is {age:.0f} s away from this party's clock",
                party_id=claimed,
            )
        expected = _mac(secret, claimed, self._own, timestamp, fields)
        if not hmac.compare_digest(expected, signature):
            raise Unauthenticated(
                f"the signature of the call from party {claimed} is wrong", party_id=claimed
            )


def certificate_parties(context: grpc.ServicerContext) -> set[int]:
    """The parties the client's verified certificate names (none without mutual TLS)."""
    parties = set()
    uris = cast(list[bytes], context.auth_context().get("peer_uri", []))
    for uri in uris:
        text = uri.decode(errors="replace")
        if text.startswith(PARTY_URI) and text[len(PARTY_URI) :].isdigit():
            parties.add(int(text[len(PARTY_URI) :]))
    return parties
