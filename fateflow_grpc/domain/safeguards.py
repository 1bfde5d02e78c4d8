"""Job settings that may expose a party's data: warned about, or refused in strict mode.

FATE runs such jobs without a word. Here each party looks at the job it is asked to run and
names what it finds; the warnings go into the job's rows (`f_warnings`, shown by `/v1/job/query`)
and its log, and a party configured with `security: {strict: true}` refuses the job instead,
and also refuses keys shorter than `STRICT_MIN_KEY_BITS`. docs/security.md says what each
warning means.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from fateflow_grpc.domain.jobspec import JobSpec
from fateflow_grpc.domain.parties import PartyRole
from fateflow_grpc.errors import FailedPrecondition

#: Modules of FATE's hetero gradient protocol: per mini-batch, each host receives the guest's
#: encrypted residuals and learns its gradient, X_host^T d, in the clear.
HETERO_GRADIENT_MODULES = frozenset({"HeteroLR", "HeteroLinR", "HeteroPoisson"})
#: The shortest Paillier or RSA modulus strict mode accepts, in bits (about 112-bit security).
STRICT_MIN_KEY_BITS = 2048


@dataclass(frozen=True)
class TableShape:
    """What a party's table gives a component: its feature columns and its rows."""

    name: str
    features: int
    rows: int


def shared_arbiter(spec: JobSpec) -> list[str]:
    """An arbiter that is also a guest or a host holds the private key of the job's encryption
    and receives what the arbiter alone should see."""
    arbiters = set(spec.roles.get("arbiter", []))
    return [
        f"party {party} is both the arbiter and a {role}: it holds the arbiter's private key "
        "(HeteroLR: it can decrypt the guest's residuals; HomoLR: with two clients it can "
        "subtract its own update from the sum and learn the other's)"
        for role in ("guest", "host")
        for party in spec.roles.get(role, [])
        if party in arbiters
    ]


def small_batches(spec: JobSpec, party: PartyRole, tables: list[TableShape]) -> list[str]:
    """At a host: a mini-batch no larger than the host's feature count lets the host solve
    X_host^T d = gradient for the batch's residuals d, and so the guest's labels."""
    if party.role != "host":
        return []
    found = []
    for component in spec.components:
        if component.module not in HETERO_GRADIENT_MODULES:
            continue
        if not spec.runs_at(component.name, party.role, party.party_id):
            continue
        params = spec.component_parameters(component.name, party.role, party.party_id)
        batch = int(params.get("batch_size", -1))
        for table in tables:
            rows = batch if 0 < batch < table.rows else table.rows
            if rows <= table.features:
                found.append(
                    f"{component.name}: batches of {rows} rows are no larger than host "
                    f"{party.party_id}'s {table.features} features ({table.name}): the host can "
                    "solve its gradient for the guest's residuals, and so for its labels; use "
                    f"a batch_size above {table.features}"
                )
    return found


def weak_keys(spec: JobSpec) -> list[str]:
    """Key lengths below the strict minimum, at any party of the job: a key one party makes
    protects what the others send it."""
    found = []
    for component in spec.components:
        for party in spec.parties():
            if not spec.runs_at(component.name, party.role, party.party_id):
                continue
            params = spec.component_parameters(component.name, party.role, party.party_id)
            for path, bits in _key_lengths(params):
                if isinstance(bits, int) and bits < STRICT_MIN_KEY_BITS:
                    found.append(
                        f"{component.name} at {party.role} {party.party_id}: {path} {bits} is "
                        f"shorter than the {STRICT_MIN_KEY_BITS} bits strict mode requires"
                    )
    return found


def _key_lengths(params: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in params.items():
        if key == "key_length":
            yield f"{prefix}{key}", value
        elif isinstance(value, Mapping):
            yield from _key_lengths(value, f"{prefix}{key}.")


def refuse_if_strict(strict: bool, party_id: int, warnings: list[str], weak: list[str]) -> None:
    """In strict mode, refuse a job that has warnings or weak keys, naming them all."""
    if strict and (warnings or weak):
        raise FailedPrecondition(
            f"party {party_id} refuses the job (security.strict): {'; '.join(warnings + weak)}",
            reason="REFUSED_BY_STRICT_SECURITY",
        )
