"""What a proof of origin costs per call between parties: made by the sender's proxy, checked by
the receiver's (`party_proxy/security.py`), nonce remembered.

    python bench/proofs.py [--calls 5000] [--rounds 5]

Two schemes: HMAC-SHA256 with a shared secret, and a signature by the sender's P-256 client
certificate (checked against the receiver's CA). The floor is one bare HMAC-SHA256 of the same
material, what any signed call pays at the least. Each figure is the best of its rounds, in
microseconds per call, sender and receiver together on one thread. Prints a table and ends
with one JSON line; a timing never fails the run.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fateflow_grpc.config import Tls, TlsMode
from party_proxy.security import Authority, Identity, Metadata, Signer
from tests.multiparty.certs import CertificateAuthority

#: What a control call asserts: its method and the SHA-256 of its request.
FIELDS: list[object] = ["/fateflow.party.v1.PartyService/CollectTasks", "ab" * 32]


class _Context:
    """The part of a gRPC servicer context a proof's check reads."""

    def __init__(self, metadata: Metadata) -> None:
        self._metadata = metadata

    def invocation_metadata(self) -> Metadata:
        return self._metadata


def _round(calls: int, one: Callable[[], object]) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        one()
    return (time.perf_counter() - started) / calls * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    authority = CertificateAuthority(Path(tempfile.mkdtemp()))
    issued = authority.party(1)
    identity = Identity.load(Tls(TlsMode.MTLS, cert=issued.cert, key=issued.key))
    schemes = {
        "hmac": (Signer(1, {2: "s" * 64}), Signer(2, {1: "s" * 64})),
        "certificate": (
            Signer(1, {}, identities=lambda _: identity),
            Signer(2, {}, authority=Authority(authority.cert.read_bytes())),
        ),
    }

    def proven(sender: Signer, receiver: Signer) -> Callable[[], None]:
        def one() -> None:
            context = _Context(sender.metadata(2, FIELDS))
            receiver.prove(context, 1, FIELDS)  # type: ignore[arg-type]

        return one

    material = json.dumps(["hmac", 1, 2, "1000.000", "ab" * 16, *FIELDS]).encode()
    best = {
        "floor": min(
            _round(args.calls, lambda: hmac.new(b"s" * 64, material, hashlib.sha256).hexdigest())
            for _ in range(args.rounds)
        )
    }
    for name, (sender, receiver) in schemes.items():
        best[name] = min(_round(args.calls, proven(sender, receiver)) for _ in range(args.rounds))

    print(f"proof of origin per call, made and checked, best of {args.rounds} x {args.calls}\n")
    print(f"{'scheme':<44}{'us/call':>10}{'x floor':>10}")
    print(f"{'floor: one HMAC-SHA256 of the material':<44}{best['floor']:>10.1f}{1:>10.1f}")
    for name, label in (("hmac", "hmac (shared secret)"), ("certificate", "certificate (P-256)")):
        print(f"{label:<44}{best[name]:>10.1f}{best[name] / best['floor']:>10.1f}")
    print(json.dumps({key: round(value, 2) for key, value in best.items()}))


if __name__ == "__main__":
    main()
