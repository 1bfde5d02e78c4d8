"""Verifiable secret sharing: shares reconstruct, commitments vouch for shares and sums only."""

from __future__ import annotations

from fateflow_grpc.components.crypto import verifiable_sharing as vss


def test_shares_reconstruct_and_verify() -> None:
    secret = vss.encode(-12.345678, 6)
    shares, commitments = vss.share(secret, 4)
    assert all(vss.verify(x + 1, s, commitments) for x, s in enumerate(shares))
    assert vss.reconstruct([(x + 1, s[0]) for x, s in enumerate(shares)]) == secret
    assert vss.decode(secret, 6) == -12.345678
    # A changed share, or a share checked at another x, is not vouched for.
    assert not vss.verify(1, ((shares[0][0] + 1) % vss.Q, shares[0][1]), commitments)
    assert not vss.verify(2, shares[0], commitments)


def test_sums_of_shares_verify_against_the_product_of_commitments() -> None:
    dealt = [vss.share(vss.encode(v, 3), 3) for v in (1.5, 2.25, -0.75)]
    combined = vss.combine([commitments for _, commitments in dealt])
    sums = [vss.add([shares[x] for shares, _ in dealt]) for x in range(3)]
    assert all(vss.verify(x + 1, s, combined) for x, s in enumerate(sums))
    total = vss.reconstruct([(x + 1, s[0]) for x, s in enumerate(sums)])
    assert vss.decode(total, 3) == 3.0


def test_commitments_hide_small_secrets() -> None:
    """Pedersen's: the same secret dealt twice commits differently (Feldman's would not)."""
    _, first = vss.share(42, 2)
    _, second = vss.share(42, 2)
    assert first[0] != second[0]
