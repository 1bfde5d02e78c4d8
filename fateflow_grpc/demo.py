"""`fateflow demo`: the hetero LR example from upload to evaluation, on a standalone.

It starts parties 9999 (guest), 10000 (host) and 10001 (arbiter) as `fateflow standalone
--parties 9999,10000,10001` does, or uses the standalone already answering on its address;
uploads the breast cancer tables there, runs examples/hetero_lr (Reader, DataTransform,
Intersection, HeteroLR, Evaluation) while showing each component and each training iteration,
prints the evaluation and where the model, metrics and logs are, then stops what it started.
It talks to the standalone's one gRPC address. The arbiter is a party of its own: it holds the
Paillier private key, which a host playing the arbiter too would hold, and could then decrypt
what the guest sends it.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import json_format, struct_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn

from fateflow.v1 import (
    data_service_pb2,
    data_service_pb2_grpc,
    job_service_pb2,
    job_service_pb2_grpc,
    tracking_service_pb2,
    tracking_service_pb2_grpc,
)
from fateflow_grpc.standalone.launcher import (
    Layout,
    StandaloneError,
    running,
    standalone_layout,
)
from fateflow_grpc.status import END_STATUSES
from fateflow_grpc.storage.model_files import model_path

#: The source tree's examples; an editable install (the README's) runs from there.
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
#: The upload confs of the guest's table and the host's.
UPLOAD_CONFS = ("upload/breast_hetero_guest.json", "upload/breast_hetero_host.json")
DSL = "hetero_lr/dsl_v2.json"
CONF = "hetero_lr/conf_v2.json"
#: Where the job's numbers come from: the guest trains and evaluates, the arbiter sums losses.
LEARNER, EVALUATION = "hetero_lr_0", "evaluation_0"
GUEST, HOST, ARBITER = ("guest", 9999), ("host", 10000), ("arbiter", 10001)
PARTIES = (GUEST[1], HOST[1], ARBITER[1])
POLL_S = 0.5
UPLOAD_CHUNK = 256 * 1024


class DemoError(Exception):
    """Something the user can act on; printed without a traceback."""


@dataclass(frozen=True)
class Example:
    dsl: dict[str, Any]
    conf: dict[str, Any]
    #: The guest's table and the host's: the upload conf and the file it names.
    uploads: tuple[tuple[dict[str, Any], Path], ...]

    @property
    def max_iter(self) -> int:
        return int(self.conf["component_parameters"]["common"][LEARNER]["max_iter"])


def load_example(examples: Path = EXAMPLES) -> Example:
    """The example's confs and data, or a DemoError naming each file that is missing."""
    needed = [examples / name for name in (*UPLOAD_CONFS, DSL, CONF)]
    missing = [path for path in needed if not path.is_file()]
    uploads = []
    if not missing:
        for name in UPLOAD_CONFS:
            conf = _read_json(examples / name)
            # Upload confs name their file from the source tree's root, as FATE's do.
            data = examples.parent / conf["file"]
            if not data.is_file():
                missing.append(data)
            uploads.append((conf, data))
    if missing:
        raise DemoError(
            "the example files are missing: "
            + ", ".join(str(path) for path in missing)
            + "; run the demo from an editable install of the source tree (pip install -e .)"
        )
    return Example(_read_json(examples / DSL), _read_json(examples / CONF), tuple(uploads))


def _read_json(path: Path) -> dict[str, Any]:
    try:
        loaded: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise DemoError(f"cannot read {path}: {error}") from None
    return loaded


def _struct(value: dict[str, Any]) -> struct_pb2.Struct:
    return json_format.ParseDict(value, struct_pb2.Struct())


def _answers(address: str) -> bool:
    """Whether a fateflow standalone (or node) serves gRPC at `address`."""
    with grpc.insecure_channel(address) as channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), timeout=2
            )
        except grpc.RpcError:
            return False
    return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)


@contextlib.contextmanager
def _standalone(base_dir: Path, port_offset: int) -> Iterator[tuple[Layout, bool]]:
    """The standalone already running at the address, or one started here and stopped after;
    and whether it was started here."""
    layout = standalone_layout(base_dir, PARTIES, port_offset)
    if _answers(layout.grpc_address):
        print(f"using the fateflow standalone already running at {layout.grpc_address}")
        yield layout, False
        return
    try:
        with running(layout, log_to_files=True):
            yield layout, True
    except StandaloneError as error:
        raise DemoError(str(error)) from None


def _upload_messages(
    conf: dict[str, Any], path: Path
) -> Iterator[data_service_pb2.UploadDataRequest]:
    # drop 1: running the demo again replaces its tables.
    settings = {**conf, "file": path.name, "drop": 1}
    yield json_format.ParseDict(settings, data_service_pb2.UploadDataRequest())
    with path.open("rb") as file:
        while chunk := file.read(UPLOAD_CHUNK):
            yield data_service_pb2.UploadDataRequest(chunk=chunk)


@dataclass
class Run:
    """What the demo learned from the standalone, for its report."""

    job_id: str
    model_id: str
    model_version: str
    #: Where the standalone keeps each party's files (`<data dir>/<party id>`).
    data_dir: Path
    auc: float = 0.0
    ks: float = 0.0
    accuracy: float = 0.0
    threshold: float = 0.0
    elapsed_s: float = 0.0

    def party_dir(self, party_id: int) -> Path:
        return self.data_dir / str(party_id)


def run_example(example: Example, address: str) -> Run:
    with grpc.insecure_channel(address) as channel:
        data = data_service_pb2_grpc.DataServiceStub(channel)  # type: ignore[no-untyped-call]
        data_dir = Path()
        for conf, path in example.uploads:
            uploaded = data.UploadData(_upload_messages(conf, path), timeout=600)
            # The table keeper keeps the upload's logs in <data dir>/<party id>/logs/<job id>.
            data_dir = Path(uploaded.data.logs_directory).parents[2]
            print(
                f"uploaded {path.name} as {conf['namespace']}.{conf['table_name']} "
                f"(job {uploaded.job_id})"
            )
        jobs = job_service_pb2_grpc.JobServiceStub(channel)  # type: ignore[no-untyped-call]
        submitted = jobs.SubmitJob(
            job_service_pb2.SubmitJobRequest(
                job_dsl=_struct(example.dsl), job_runtime_conf=_struct(example.conf)
            ),
            timeout=60,
        )
        run = Run(
            submitted.job_id,
            submitted.data.model_info.model_id,
            submitted.data.model_info.model_version,
            data_dir,
        )
        print(f"job {run.job_id} submitted: guest {GUEST[1]}, host {HOST[1]}, arbiter {ARBITER[1]}")
        print(f"watch it on the board: {submitted.data.board_url}")
        tracker = tracking_service_pb2_grpc.TrackingServiceStub(channel)  # type: ignore[no-untyped-call]
        started = time.monotonic()
        try:
            status = _watch(example, run.job_id, jobs, tracker)
        except KeyboardInterrupt:
            with contextlib.suppress(grpc.RpcError):  # a node already stopped by the ^C
                jobs.StopJob(job_service_pb2.StopJobRequest(job_id=run.job_id), timeout=10)
            raise DemoError(f"interrupted: job {run.job_id} stopped") from None
        run.elapsed_s = time.monotonic() - started
        if status != "success":
            logs = " and ".join(
                str(run.party_dir(party_id) / "logs" / run.job_id) for party_id in PARTIES
            )
            raise DemoError(f"job {run.job_id} ended {status}; its logs are in {logs}")
        _read_evaluation(run, tracker)
        return run


def _watch(
    example: Example,
    job_id: str,
    jobs: job_service_pb2_grpc.JobServiceStub,
    tracker: tracking_service_pb2_grpc.TrackingServiceStub,
) -> str:
    """Show each component's status and the learner's iterations until the job ends."""
    role, party_id = GUEST
    components = list(example.dsl["components"])
    with Progress(
        TextColumn("{task.description:<18}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[note]}"),
    ) as progress:
        bars: dict[str, TaskID] = {
            name: progress.add_task(
                name, total=example.max_iter if name == LEARNER else 1, note="waiting"
            )
            for name in components
        }
        reported: set[str] = set()
        while True:
            [job] = jobs.QueryJob(
                job_service_pb2.QueryJobRequest(job_id=job_id, role=role, party_id=party_id),
                timeout=30,
            ).data
            tasks = {
                task.f_component_name: task
                for task in jobs.QueryTask(
                    job_service_pb2.QueryTaskRequest(job_id=job_id, role=role, party_id=party_id),
                    timeout=30,
                ).data
            }
            losses = _losses(job_id, tracker)
            for name in components:
                task = tasks.get(name)
                status = task.f_status if task else "waiting"
                done = 1 if status == "success" else 0
                note = status
                if name == LEARNER:
                    done = len(losses)
                    if losses:
                        note = f"{status}, loss {losses[-1]:.4f}"
                    if status == "success":  # converged before max_iter
                        progress.update(bars[name], total=done)
                progress.update(bars[name], completed=done, note=note)
                if task and status in END_STATUSES and name not in reported:
                    reported.add(name)
                    took = (
                        f" in {task.f_elapsed / 1000:.1f} s" if task.HasField("f_elapsed") else ""
                    )
                    iterations = f", {len(losses)} iterations" if name == LEARNER else ""
                    progress.console.print(f"{name}: {status}{took}{iterations}")
            if job.f_status in END_STATUSES:
                return str(job.f_status)
            time.sleep(POLL_S)


def _losses(job_id: str, tracker: tracking_service_pb2_grpc.TrackingServiceStub) -> list[float]:
    """The arbiter's loss of each iteration so far, as HeteroLR records them."""
    role, party_id = ARBITER
    reply = tracker.GetComponentMetricData(
        tracking_service_pb2.GetComponentMetricDataRequest(
            job_id=job_id,
            role=role,
            party_id=party_id,
            component_name=LEARNER,
            metric_namespace="train",
            metric_name="loss",
        ),
        timeout=30,
    )
    return [point.list_value.values[1].number_value for point in reply.data.values]


def _read_evaluation(run: Run, tracker: tracking_service_pb2_grpc.TrackingServiceStub) -> None:
    role, party_id = GUEST
    reply = tracker.GetComponentMetricAll(
        tracking_service_pb2.GetComponentMetricAllRequest(
            job_id=run.job_id, role=role, party_id=party_id, component_name=EVALUATION
        ),
        timeout=30,
    )
    metrics = json_format.MessageToDict(reply.data).get("train", {})
    if LEARNER not in metrics or f"{LEARNER}_accuracy" not in metrics:
        raise DemoError(f"job {run.job_id}: {EVALUATION} recorded no evaluation of {LEARNER}")
    summary = dict(metrics[LEARNER]["data"])
    run.auc, run.ks = float(summary["auc"]), float(summary["ks"])
    # Binary accuracy is a curve over thresholds (FATE's); report it where the learner
    # draws its line, at 0.5.
    curve = metrics[f"{LEARNER}_accuracy"]
    thresholds = curve["meta"]["thresholds"]
    nearest = min(range(len(thresholds)), key=lambda i: abs(thresholds[i] - 0.5))
    run.accuracy = float(curve["data"][nearest][1])
    run.threshold = float(thresholds[nearest])


def _method(service: str, method: str) -> str:
    descriptor = tracking_service_pb2.DESCRIPTOR.services_by_name[service]
    return f"{descriptor.full_name}/{descriptor.methods_by_name[method].name}"


def report(run: Run, layout: Layout, restart: str | None) -> None:
    job = run.job_id
    models = [
        model_path(
            run.party_dir(party_id),
            role,
            party_id,
            run.model_id,
            run.model_version,
            LEARNER,
            "model",
        )
        for role, party_id in (GUEST, HOST)
    ]
    client = f"fateflow-client --address {layout.http_url}"
    evaluation = json.dumps(
        {"job_id": job, "role": GUEST[0], "party_id": GUEST[1], "component_name": EVALUATION}
    )
    loss = json.dumps(
        {
            "job_id": job,
            "role": ARBITER[0],
            "party_id": ARBITER[1],
            "component_name": LEARNER,
            "metric_namespace": "train",
            "metric_name": "loss",
        }
    )
    address = layout.grpc_address
    lines = [
        "",
        f"Evaluation of {LEARNER} on its training data (guest {GUEST[1]}):",
        f"  AUC       {run.auc:.4f}",
        f"  KS        {run.ks:.4f}",
        f"  accuracy  {run.accuracy:.4f} (threshold {run.threshold:.4f})",
        "",
        f"job {job}: success in {run.elapsed_s:.1f} s",
        f"  model     id {run.model_id}, version {run.model_version}",
        f"            guest {GUEST[1]}:    {models[0]}",
        f"            host {HOST[1]}:    {models[1]}",
        "  metrics   in each party's database, through the tracking API (commands below)",
        f"  logs      guest {GUEST[1]}:    {run.party_dir(GUEST[1]) / 'logs' / job}",
        f"            host {HOST[1]}:    {run.party_dir(HOST[1]) / 'logs' / job}",
        f"            arbiter {ARBITER[1]}: {run.party_dir(ARBITER[1]) / 'logs' / job}",
        "",
        "Look at them at the standalone's one address"
        + (f" (start it again first: {restart}):" if restart else ":"),
        f"  {client} -f query_job -j {job}",
        f"  {client} -f component_metric_all -j {job} -r guest -p {GUEST[1]} -cpn {EVALUATION}",
        f"  {client} -f component_metric_all -j {job} -r arbiter -p {ARBITER[1]} -cpn {LEARNER}",
        f"  {client} -f component_output_model -j {job} -r guest -p {GUEST[1]} -cpn {LEARNER}",
        f"  {client} -f job_log -j {job} -o .",
        f"  grpcurl -plaintext {address} list",
        f"  grpcurl -plaintext -d '{evaluation}' {address} "
        + _method("TrackingService", "GetComponentMetricAll"),
        f"  grpcurl -plaintext -d '{loss}' {address} "
        + _method("TrackingService", "GetComponentMetricData"),
    ]
    print("\n".join(lines), flush=True)


def demo(base_dir: Path, port_offset: int = 0) -> None:
    """Run the demo; exit with a message, not a traceback, when it cannot finish."""
    try:
        example = load_example()
        with _standalone(base_dir, port_offset) as (layout, started_here):
            run = run_example(example, layout.grpc_address)
    except grpc.RpcError as error:
        details = error.details() if isinstance(error, grpc.Call) else str(error)
        sys.exit(f"fateflow demo: the standalone refused: {details}")
    except DemoError as error:
        sys.exit(f"fateflow demo: {error}")
    except KeyboardInterrupt:
        sys.exit("fateflow demo: interrupted")
    restart = None
    if started_here:
        offset = f" --port-offset {port_offset}" if port_offset else ""
        parties = ",".join(map(str, PARTIES))
        restart = f"fateflow standalone --parties {parties} --data-dir {base_dir}{offset}"
    report(run, layout, restart)
