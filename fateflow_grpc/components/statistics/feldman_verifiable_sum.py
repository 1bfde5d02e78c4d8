"""FeldmanVerifiableSum (FATE's module): the guest learns, for each row id and each column of
`sum_cols`, the sum of that value over the guest and every host, and no party's own value;
every share is checked against its dealer's commitments.

    params = validate_parameters(component_parameters)
    sums = fit_guest(transport, data, params, parties)    # the guest: a Dataset of sums
    fit_host(transport, data, params, parties)            # each host

FATE's protocol, with n = hosts + 1 parties: each party encodes each value as an integer
(`q_n` decimal digits, truncated) and deals it in n shares (`crypto/verifiable_sharing.py`),
the share at x = i + 1 to host i and at x = n to the guest (`guest_share_subkey`,
`host_share_to_host`, `host_share_to_guest`), with the commitments of its polynomials to all
(`guest_commitments`, `host_commitments`). Each party checks each share it gets against its
dealer's commitments, adds up the shares it holds, and each host sends its sum share to the
guest (`host_sum`), which checks it against the product of every dealer's commitments and
interpolates the sums. A party that sends a share its commitments do not vouch for is named.

Rows are matched by id: every party must hold the same ids (a digest of the sorted ids is
compared first; FATE's join keeps the common ids silently). Commitments are Pedersen's, not
Feldman's (see `crypto/verifiable_sharing.py`: FATE's reveal small secrets).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from fateflow_grpc.components.crypto import verifiable_sharing as vss
from fateflow_grpc.components.sdk.context import Dataset, TaskContext
from fateflow_grpc.components.sdk.learning import TRAIN_KINDS, learner_input
from fateflow_grpc.components.sdk.parameters import ParamReader
from fateflow_grpc.components.sdk.transport import GET_TIMEOUT_S, Participants, Transport
from fateflow_grpc.domain.catalog import ModuleInfo
from fateflow_grpc.domain.parties import PartyRole
from fateflow_grpc.errors import FederatedError, InvalidArgument
from fateflow_grpc.federation.codec import BigIntegers

MODULE = "FeldmanVerifiableSum"
_VARIABLES = "FeldmanVerifiableSumTransferVariables"
GUEST_SHARE_SUBKEY = f"{_VARIABLES}.guest_share_subkey"
HOST_SHARE_TO_GUEST = f"{_VARIABLES}.host_share_to_guest"
HOST_SHARE_TO_HOST = f"{_VARIABLES}.host_share_to_host"
HOST_SUM = f"{_VARIABLES}.host_sum"
GUEST_COMMITMENTS = f"{_VARIABLES}.guest_commitments"
HOST_COMMITMENTS = f"{_VARIABLES}.host_commitments"
#: Ours: a digest of each party's sorted ids, for the guest to compare.
IDS = f"{_VARIABLES}.ids"
TAG = "fit"

# FATE's FeldmanVerifiableSumParam (1.5 to 1.11).
DEFAULTS: dict[str, Any] = {"sum_cols": None, "q_n": 6}


def validate_parameters(params: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """FATE's checks: sum_cols a list of column indexes (none: every column), 0 <= q_n <= 16."""
    reader = ParamReader(MODULE, params, DEFAULTS)
    columns = reader.raw("sum_cols")
    columns = [] if columns is None else columns
    if not isinstance(columns, list) or not all(
        isinstance(c, int) and not isinstance(c, bool) for c in columns
    ):
        raise reader.error("sum_cols", columns, "must be a list of column indexes")
    return {"sum_cols": columns, "q_n": reader.integer("q_n", minimum=0, maximum=16)}


def _columns(data: Dataset, params: Mapping[str, Any]) -> list[int]:
    wanted = params["sum_cols"]
    if not wanted:
        return list(range(len(data.header)))
    bad = [c for c in wanted if not 0 <= c < len(data.header)]
    if bad:
        raise InvalidArgument(
            f"{MODULE} parameter sum_cols names column {bad[0]}, but the data have "
            f"{len(data.header)} columns",
            parameter="sum_cols",
        )
    # FATE keeps the header's order whatever the order of sum_cols.
    return [c for c in range(len(data.header)) if c in set(wanted)]


class _Party:
    """One party's view: its sorted rows, its dealing, the shares and commitments it got."""

    def __init__(
        self,
        transport: Transport,
        data: Dataset,
        params: Mapping[str, Any],
        parties: Participants,
        local: PartyRole,
        timeout: float,
    ) -> None:
        self.transport = transport
        self.timeout = timeout
        self.parties = parties
        self.local = local
        ids = [str(v) for v in data.ids.tolist()]
        self.order = np.array(sorted(range(len(ids)), key=lambda r: ids[r]), dtype=np.intp)
        self.digest = hashlib.sha256("\n".join(ids[r] for r in self.order).encode()).hexdigest()
        self.columns = _columns(data, params)
        self.count = len(parties.hosts) + 1
        self.digits = params["q_n"]
        values = data.features[self.order][:, self.columns]
        self.cells = values.size
        # Deal every value: shares[cell][party], commitments[cell].
        self.shares: list[list[vss.Share]] = []
        self.commitments: list[list[int]] = []
        for value in values.ravel().tolist():
            cell_shares, cell_commitments = vss.share(vss.encode(value, self.digits), self.count)
            self.shares.append(cell_shares)
            self.commitments.append(cell_commitments)

    def shares_for(self, x: int) -> BigIntegers:
        return BigIntegers(v for cell in self.shares for v in cell[x - 1])

    def my_commitments(self) -> BigIntegers:
        return BigIntegers(c for cell in self.commitments for c in cell)

    def get(self, name: str, party: PartyRole) -> object:
        [obj] = self.transport.get(name, TAG, [party], self.timeout)
        return obj

    def read_shares(self, obj: object, sender: PartyRole) -> list[vss.Share]:
        if not isinstance(obj, list) or len(obj) != 2 * self.cells:
            raise _sent(sender, "shares", f"are not {self.cells} pairs of integers")
        return [(int(obj[2 * k]), int(obj[2 * k + 1])) for k in range(self.cells)]

    def read_commitments(self, obj: object, sender: PartyRole) -> list[list[int]]:
        size = self.count
        if not isinstance(obj, list) or len(obj) != size * self.cells:
            raise _sent(sender, "commitments", f"are not {self.cells} lists of {size}")
        return [[int(c) for c in obj[k * size : (k + 1) * size]] for k in range(self.cells)]

    def checked(
        self, sender: PartyRole, x: int, share_name: str, commitment_name: str
    ) -> tuple[list[vss.Share], list[list[int]]]:
        """The shares `sender` dealt this party (at x), checked against its commitments."""
        shares = self.read_shares(self.get(share_name, sender), sender)
        commitments = self.read_commitments(self.get(commitment_name, sender), sender)
        for value, cell in zip(shares, commitments, strict=True):
            if not vss.verify(x, value, cell):
                raise _sent(sender, "a share", "its commitments do not vouch for (sub_key)")
        return shares, commitments

    def check_ids(self, digests: Sequence[object]) -> None:
        if any(digest != self.digest for digest in digests):
            raise InvalidArgument(
                f"{MODULE}: the parties hold different ids: every party must sum over the same ids"
            )


def _sent(party: PartyRole, what: str, why: str) -> FederatedError:
    return FederatedError(f"{party.role} {party.party_id} sent {what} that {why}")


def fit_guest(
    transport: Transport,
    data: Dataset,
    params: Mapping[str, Any],
    parties: Participants,
    *,
    timeout: float = GET_TIMEOUT_S,
) -> Dataset:
    """The guest's part: the sums, a dataset of the summed columns over its ids."""
    hosts = list(parties.hosts)
    me = _Party(transport, data, params, parties, parties.guest, timeout)
    me.check_ids(transport.get(IDS, TAG, hosts, timeout))
    for index, host in enumerate(hosts):
        transport.remote(me.shares_for(index + 1), GUEST_SHARE_SUBKEY, TAG, [host])
    transport.remote(me.my_commitments(), GUEST_COMMITMENTS, TAG, hosts)
    x = me.count
    held = [[cell[x - 1]] for cell in me.shares]
    all_commitments = [me.commitments]
    for host in hosts:
        shares, commitments = me.checked(host, x, HOST_SHARE_TO_GUEST, HOST_COMMITMENTS)
        for cell, value in zip(held, shares, strict=True):
            cell.append(value)
        all_commitments.append(commitments)
    sums = [vss.add(cell) for cell in held]
    combined = [vss.combine([c[k] for c in all_commitments]) for k in range(me.cells)]
    points: list[list[tuple[int, int]]] = [[] for _ in range(me.cells)]
    for index, host in enumerate(hosts):
        host_sums = me.read_shares(me.get(HOST_SUM, host), host)
        for k, value in enumerate(host_sums):
            if not vss.verify(index + 1, value, combined[k]):
                raise _sent(host, "a sum share", "the commitments do not vouch for (sum_key)")
            points[k].append((index + 1, value[0]))
    for k, value in enumerate(sums):
        points[k].append((x, value[0]))
    totals = np.array([vss.decode(vss.reconstruct(p), me.digits) for p in points])
    sorted_sums = totals.reshape(len(me.order), len(me.columns))
    result = np.empty_like(sorted_sums)
    result[me.order] = sorted_sums
    # FATE's output instances hold the sums alone (no label, no weight).
    return Dataset(
        ids=data.ids,
        features=result,
        labels=None,
        header=[data.header[c] for c in me.columns],
        sid=data.sid,
    )


def fit_host(
    transport: Transport,
    data: Dataset,
    params: Mapping[str, Any],
    parties: Participants,
    local: PartyRole,
    *,
    timeout: float = GET_TIMEOUT_S,
) -> None:
    """A host's part: deal its values, check the shares it gets, send the guest its sums."""
    hosts = list(parties.hosts)
    if local not in hosts:
        raise InvalidArgument(f"{local.role} {local.party_id} is not a host of this job")
    me = _Party(transport, data, params, parties, local, timeout)
    transport.remote(me.digest, IDS, TAG, [parties.guest])
    mine = hosts.index(local)
    others = [h for h in hosts if h != local]
    for index, host in enumerate(hosts):
        if host != local:
            transport.remote(me.shares_for(index + 1), HOST_SHARE_TO_HOST, TAG, [host])
    transport.remote(me.shares_for(me.count), HOST_SHARE_TO_GUEST, TAG, [parties.guest])
    transport.remote(me.my_commitments(), HOST_COMMITMENTS, TAG, [*others, parties.guest])
    x = mine + 1
    held = [[cell[x - 1]] for cell in me.shares]
    dealt = [me.checked(parties.guest, x, GUEST_SHARE_SUBKEY, GUEST_COMMITMENTS)[0]]
    dealt += [me.checked(host, x, HOST_SHARE_TO_HOST, HOST_COMMITMENTS)[0] for host in others]
    for shares in dealt:
        for cell, value in zip(held, shares, strict=True):
            cell.append(value)
    sums = [vss.add(cell) for cell in held]
    transport.remote(BigIntegers(v for s in sums for v in s), HOST_SUM, TAG, [parties.guest])


class FeldmanVerifiableSum:
    info = ModuleInfo(
        name=MODULE,
        roles=frozenset({"guest", "host"}),
        parameters=DEFAULTS,
        input_kinds=frozenset(TRAIN_KINDS),
        validate=lambda params: validate_parameters(params),
    )

    def run(self, context: TaskContext) -> None:
        params = validate_parameters(context.parameters)
        parties = Participants.from_roles(context.roles)
        data, _ = learner_input(context)
        if context.task.role == "host":
            fit_host(context.federation, data, params, parties, context.local)
            return
        sums = fit_guest(context.federation, data, params, parties)
        context.log.info(
            "%s: %s rows summed over %s parties", MODULE, len(sums.ids), len(parties.hosts) + 1
        )
        context.save_output_data(sums.to_table())
