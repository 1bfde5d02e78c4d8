"""Which local party answers each public RPC at the standalone front: one rule per method.

FATE's standalone is one FATE-Flow holding every party's rows; here each local party keeps
its own, so the front must know, for every RPC of `fateflow.v1`, whose core to ask. A rule is
a route (a function of the request that names the destination) and, for the requests that go
to every local party, how their answers become one (a merge):

- `Party(p)`: the request names its party (`party_id`); a party id that is not local is refused,
  unless the party id is only a filter over rows (`or_every`): then every party is asked, and
  answers with the rows it has of that party; a data job's rows (party 0) are the keeper's.
- `KEEPER`: the table keeper, the first local party: it uploads, downloads and describes the
  tables all local parties share (the node config's shared table store), and keeps the
  upload jobs and their history.
- `Initiator(job_id)`: the party that initiated the job (stop it, publish its model).
- `EVERY`: every local party; the answers that are not NOT_FOUND are merged: rows are
  concatenated and ordered again (`Rows`), or the first answer is taken in party order
  (`FIRST`, for reads about one party's rows when the request does not say which party),
  counts are added (`SUM`), job log archives become one archive (`ARCHIVE`).

`tests/standalone/test_rules.py` fails if a public RPC has no rule.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from google.protobuf import descriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass

from fateflow.v1 import (
    data_service_pb2,
    job_service_pb2,
    model_service_pb2,
    node_service_pb2,
    table_service_pb2,
    tracking_service_pb2,
)

#: The modules of the public services, one service each.
PUBLIC_SERVICES: tuple[ModuleType, ...] = (
    job_service_pb2,
    data_service_pb2,
    tracking_service_pb2,
    model_service_pb2,
    table_service_pb2,
    node_service_pb2,
)


# --- destinations --------------------------------------------------------------------------


@dataclass(frozen=True)
class Party:
    """The core of one party, named by the request."""

    party_id: int
    #: When the party is not a local one, ask every party rather than refuse the request.
    or_every: bool = False


@dataclass(frozen=True)
class Initiator:
    """The core of the party that initiated `job_id`."""

    job_id: str


class _Keeper:
    def __repr__(self) -> str:
        return "KEEPER"


class _Every:
    def __repr__(self) -> str:
        return "EVERY"


KEEPER = _Keeper()
EVERY = _Every()
#: The party id of FATE's data jobs (upload, download: role `local`).
DATA_JOB_PARTY = 0

Destination = Party | Initiator | _Keeper | _Every


# --- merges ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rows:
    """Concatenate the repeated `data` of every answer, each row taken from the party it is
    about (an initiator also holds rows about the other parties' tasks), then order them by
    `order` (`newest_first` reverses) and keep the request's `limit` (0: all)."""

    order: tuple[str, ...] = ()
    newest_first: bool = False
    limit: str = ""


class _First:
    def __repr__(self) -> str:
        return "FIRST"


class _Sum:
    def __repr__(self) -> str:
        return "SUM"


class _Archive:
    def __repr__(self) -> str:
        return "ARCHIVE"


FIRST = _First()
SUM = _Sum()
ARCHIVE = _Archive()

Merge = Rows | _First | _Sum | _Archive

#: FATE's orders: jobs and tasks newest first, output tables as they were written.
JOB_ROWS = Rows(("f_create_time", "f_job_id"), newest_first=True)
TASK_ROWS = Rows(("f_create_time", "f_task_id", "f_task_version"), newest_first=True)
OUTPUT_ROWS = Rows(("f_create_time", "f_task_id", "f_data_name"))


# --- routes ----------------------------------------------------------------------------------


def table_keeper(request: Any) -> Destination:
    return KEEPER


def every_party(request: Any) -> Destination:
    return EVERY


def by_party(request: Any) -> Destination:
    """The party the request names; without one, every party (the answers merged)."""
    return Party(request.party_id) if request.HasField("party_id") else EVERY


def party_filter(request: Any) -> Destination:
    """Rows filtered by party: that party's own; a data job's (party 0), which the keeper runs;
    every party's rows of a party that is not local."""
    if not request.HasField("party_id"):
        return EVERY
    return KEEPER if request.party_id == DATA_JOB_PARTY else Party(request.party_id, or_every=True)


def by_party_or_keeper(request: Any) -> Destination:
    """The party the request names; without one (it is required), the keeper, which refuses
    the request as any core would."""
    return Party(request.party_id) if request.HasField("party_id") else KEEPER


def conf_initiator(request: job_service_pb2.SubmitJobRequest) -> Destination:
    """The conf's initiator; without a readable one, the keeper, which says what is wrong."""
    initiator = request.job_runtime_conf.fields.get("initiator")
    party_id = initiator.struct_value.fields.get("party_id") if initiator else None
    number = _party_number(party_id)
    return KEEPER if number is None else Party(number)


def conf_parties(request: job_service_pb2.SubmitJobRequest) -> list[int]:
    """Every party the conf's roles name (that can be read as a party id)."""
    roles = request.job_runtime_conf.fields.get("role")
    if roles is None:
        return []
    return [
        number
        for ids in roles.struct_value.fields.values()
        for value in ids.list_value.values
        if (number := _party_number(value)) is not None
    ]


def job_initiator(request: Any) -> Destination:
    return Initiator(request.job_id)


def publication_initiator(
    request: model_service_pb2.LoadModelRequest | model_service_pb2.BindModelRequest,
) -> Destination:
    """The initiator the request names, else the one of its training job."""
    number = _party_number(request.initiator.fields.get("party_id"))
    if number is not None:
        return Party(number)
    return Initiator(request.job_id) if request.job_id else KEEPER


def model_owner(request: model_service_pb2.TransferModelRequest) -> Destination:
    """The party of the model's namespace, `role#party_id#model_id`."""
    _, _, rest = request.namespace.partition("#")
    party_id, _, _ = rest.partition("#")
    return Party(int(party_id)) if party_id.isdigit() else KEEPER


def table_or_job(request: table_service_pb2.DeleteTableRequest) -> Destination:
    """A table by name is the keeper's; a job's output tables are each party's own."""
    if request.namespace or request.table_name:
        return KEEPER
    return party_filter(request)


def _party_number(value: Any) -> int | None:
    """A party id given as a number or a string of digits in a Struct."""
    if value is None:
        return None
    kind = value.WhichOneof("kind")
    if kind == "number_value" and value.number_value == int(value.number_value):
        return int(value.number_value)
    if kind == "string_value" and value.string_value.isdigit():
        return int(value.string_value)
    return None


# --- the rules -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    route: Callable[[Any], Destination]
    #: How the answers of every party become one, when the route says EVERY.
    merge: Merge = FIRST
    #: The parties the request needs besides its destination: each must be a local one.
    involves: Callable[[Any], list[int]] = lambda request: []


@dataclass(frozen=True)
class Method:
    """A public RPC with its rule: what the front needs to serve it."""

    path: str  # "/fateflow.v1.JobService/QueryJob"
    request_class: type[Message]
    response_class: type[Message]
    client_streaming: bool
    server_streaming: bool
    rule: Rule


_RULES: dict[ModuleType, dict[str, Rule]] = {
    job_service_pb2: {
        "SubmitJob": Rule(conf_initiator, involves=conf_parties),
        "StopJob": Rule(job_initiator),
        "RerunJob": Rule(job_initiator),
        "QueryJob": Rule(party_filter, JOB_ROWS),
        "UpdateJob": Rule(by_party_or_keeper),
        "GetJobConfig": Rule(party_filter, FIRST),
        "QueryTask": Rule(party_filter, TASK_ROWS),
        "ListJobs": Rule(every_party, Rows(JOB_ROWS.order, newest_first=True, limit="limit")),
        "ListTasks": Rule(every_party, Rows(TASK_ROWS.order, newest_first=True, limit="limit")),
        "CleanJob": Rule(party_filter, FIRST),  # every party holding the job cleans its part
        "QueryDataView": Rule(party_filter, OUTPUT_ROWS),
        "GenerateDsl": Rule(table_keeper),  # reads nothing of a party: any core answers it
        "DownloadJobLog": Rule(every_party, ARCHIVE),
        "GetDagDependency": Rule(by_party_or_keeper),
        "GetLogSize": Rule(by_party_or_keeper),
        "ListLogLines": Rule(by_party_or_keeper),
    },
    data_service_pb2: {
        "UploadData": Rule(table_keeper),
        "DownloadData": Rule(table_keeper),
        "ListUploadHistory": Rule(table_keeper),
    },
    table_service_pb2: {
        "GetTableInfo": Rule(table_keeper),
        "DeleteTable": Rule(table_or_job, Rows()),
    },
    tracking_service_pb2: {
        "GetJobDataView": Rule(by_party, FIRST),
        "ListComponents": Rule(every_party, FIRST),  # the initiator answers
        "ListComponentMetrics": Rule(by_party, FIRST),
        "GetComponentMetricAll": Rule(by_party, FIRST),
        "GetComponentMetricData": Rule(by_party, FIRST),
        "DeleteComponentMetrics": Rule(every_party, SUM),
        "GetComponentParameters": Rule(by_party, FIRST),
        "GetComponentOutputModel": Rule(by_party, FIRST),
        "GetComponentOutputData": Rule(by_party, FIRST),
        "GetComponentOutputDataTable": Rule(by_party, FIRST),
        "DownloadComponentOutputData": Rule(by_party, FIRST),
        "GetComponentSummary": Rule(by_party, FIRST),
    },
    model_service_pb2: {
        "LoadModel": Rule(publication_initiator),
        "BindModel": Rule(publication_initiator),
        "TransferModel": Rule(model_owner),
        "StoreModel": Rule(by_party_or_keeper),
        "RestoreModel": Rule(by_party_or_keeper),
        "ExportModel": Rule(by_party_or_keeper),
        "ImportModel": Rule(by_party_or_keeper),
        # Only the training job's initiator deploys; the other parties answer NOT_FOUND.
        "DeployModel": Rule(every_party, FIRST),
        "GetPredictDsl": Rule(by_party, FIRST),
        "GetPredictConf": Rule(by_party, FIRST),
    },
    node_service_pb2: {
        "GetVersion": Rule(table_keeper),  # every local party runs the same version
        "ListParties": Rule(table_keeper),  # the keeper, and its links to the other parties
    },
}


def _service(module: ModuleType) -> descriptor.ServiceDescriptor:
    services: list[descriptor.ServiceDescriptor] = list(module.DESCRIPTOR.services_by_name.values())
    (service,) = services
    return service


def public_service_names() -> list[str]:
    return [_service(module).full_name for module in PUBLIC_SERVICES]


def public_methods() -> dict[str, descriptor.MethodDescriptor]:
    """Every public RPC, by its path, read from the services' descriptors."""
    return {
        f"/{service.full_name}/{method.name}": method
        for service in map(_service, PUBLIC_SERVICES)
        for method in service.methods
    }


def methods() -> dict[str, Method]:
    """The public RPCs that have a rule, by path."""
    found = {}
    for module, rules in _RULES.items():
        service = _service(module)
        for name, rule in rules.items():
            method = service.methods_by_name[name]
            path = f"/{service.full_name}/{name}"
            found[path] = Method(
                path,
                GetMessageClass(method.input_type),
                GetMessageClass(method.output_type),
                method.client_streaming,
                method.server_streaming,
                rule,
            )
    return found
