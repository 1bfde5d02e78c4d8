"""Every command of `fateflow-client`, run as a user runs it, against `fateflow standalone`.

The client runs from the repository (the upload confs name `examples/data/...` relative to
it); what the node writes (`download`) goes under the standalone's directory, the only one
its parties may write to; what the client writes goes under `-o`.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.serving.endpoint import ServingEndpoint
from tests.standalone.process import Standalone, run_standalone

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
GUEST, HOST = "9999", "10000"
COMPONENTS = ("dataio_0", "intersection_0", "hetero_lr_0", "evaluation_0")
MODEL_ID = "arbiter-10000#guest-9999#host-10000#model"


def run(address: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fateflow_grpc.client_cli", "--address", address, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )


def printed(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """The answer the client printed, as FATE's client prints it: indented JSON, a blank line."""
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("{\n    ") and done.stdout.endswith("}\n\n"), done.stdout
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


def ok(address: str, *args: str) -> dict[str, Any]:
    answer = printed(run(address, *args))
    assert answer["retcode"] == 0, answer
    return answer


def eventually(address: str, job_id: str, status: str, timeout: float = 60) -> dict[str, Any]:
    """The job's first row once it has `status` (query_job, as a user would poll)."""
    deadline = time.monotonic() + timeout
    while True:
        row: dict[str, Any] = ok(address, "-f", "query_job", "-j", job_id)["data"][0]
        if row["f_status"] == status:
            return row
        assert time.monotonic() < deadline, f"job {job_id} is {row['f_status']}, not {status}"
        time.sleep(0.5)


def conf(tmp: Path, max_iter: int) -> Path:
    """The hetero LR example's v1 conf with fewer iterations."""
    runtime_conf = json.loads((EXAMPLES / "hetero_lr" / "conf_v1.json").read_text())
    runtime_conf["algorithm_parameters"]["hetero_lr_0"]["max_iter"] = max_iter
    path = tmp / f"conf_{max_iter}.json"
    path.write_text(json.dumps(runtime_conf))
    return path


@dataclass(frozen=True)
class Trained:
    """The standalone parties after both uploads and one hetero LR job."""

    standalone: Standalone
    guest: str
    host: str
    job_id: str
    #: What `submit_job --wait` printed.
    submitted: dict[str, Any]
    uploads: dict[str, str]
    work: Path


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Trained]:
    work = tmp_path_factory.mktemp("client")
    with run_standalone(work) as standalone:
        guest, host = standalone.http(standalone.guest), standalone.http(standalone.host)
        uploads = {}
        for address, table in ((guest, "breast_hetero_guest"), (host, "breast_hetero_host")):
            conf_path = f"examples/upload/{table}.json"
            uploaded = ok(address, "-f", "upload", "-c", conf_path, "-drop", "1")
            assert uploaded["data"]["table_name"] == table
            uploads[table] = uploaded["jobId"]
            eventually(address, uploaded["jobId"], "success")
        done = run(
            guest,
            "-f",
            "submit_job",
            "-c",
            str(conf(work, 3)),
            "-d",
            str(EXAMPLES / "hetero_lr" / "dsl_v1.json"),
            "--wait",
        )
        submitted = printed(done)
        yield Trained(standalone, guest, host, submitted["jobId"], submitted, uploads, work)


def test_submit_wait_follows_the_job_to_its_end(trained: Trained) -> None:
    (row,) = trained.submitted["data"]
    assert row["f_job_id"] == trained.job_id
    assert (row["f_status"], row["f_progress"]) == ("success", 100)
    assert (row["f_role"], row["f_party_id"], row["f_is_initiator"]) == ("guest", GUEST, True)
    assert "f_dsl" not in row and "f_runtime_conf" not in row


def test_job_queries(trained: Trained) -> None:
    guest, host, job_id = trained.guest, trained.host, trained.job_id
    (row,) = ok(guest, "-f", "query_job", "-j", job_id)["data"]
    assert row["f_status"] == "success" and "f_dsl" not in row
    host_rows = ok(host, "-f", "query_job", "-j", job_id)["data"]
    assert {(r["f_role"], r["f_status"]) for r in host_rows} == {
        ("host", "success"),
        ("arbiter", "success"),
    }
    tasks = ok(guest, "-f", "query_task", "-j", job_id, "-r", "guest", "-p", GUEST)["data"]
    assert sorted(t["f_component_name"] for t in tasks) == sorted(COMPONENTS)
    assert {t["f_status"] for t in tasks} == {"success"}
    (arbiter_task,) = ok(host, "-f", "query_task", "-j", job_id, "-r", "arbiter")["data"]
    assert arbiter_task["f_component_name"] == "hetero_lr_0"

    out = trained.work / "out"
    config = ok(guest, "-f", "job_config", "-j", job_id, "-r", "guest", "-p", GUEST, "-o", str(out))
    directory = out / f"job_{job_id}_config"
    assert config["directory"] == str(directory)
    assert config["data"]["model_info"] == {
        "model_id": MODEL_ID,
        "model_version": job_id,
    }
    dsl = json.loads((EXAMPLES / "hetero_lr" / "dsl_v1.json").read_text())
    assert json.loads((directory / "dsl.json").read_text()) == dsl
    runtime_conf = json.loads((directory / "runtime_conf.json").read_text())
    assert runtime_conf["algorithm_parameters"]["hetero_lr_0"]["max_iter"] == 3
    assert json.loads((directory / "model_info.json").read_text())["model_version"] == job_id

    logs = ok(host, "-f", "job_log", "-j", job_id, "-o", str(out))
    assert logs["directory"] == str(out / f"job_{job_id}_log")
    assert (Path(logs["directory"]) / "host" / HOST / "intersection_0" / "INFO.log").read_text()
    arbiter_log = Path(logs["directory"]) / "arbiter" / HOST / "hetero_lr_0" / "INFO.log"
    assert "iteration 2: loss" in arbiter_log.read_text()

    views = ok(guest, "-f", "data_view_query", "-j", job_id, "-r", "guest", "-p", GUEST)["data"]
    assert {v["f_component_name"] for v in views} >= {"dataio_0", "intersection_0"}
    assert {(v["f_role"], v["f_party_id"]) for v in views} == {("guest", GUEST)}


def test_tracking_at_guest_and_host(trained: Trained) -> None:
    guest, host, job_id = trained.guest, trained.host, trained.job_id

    def component(address: str, function: str, role: str, party: str, name: str) -> Any:
        args = ("-f", function, "-j", job_id, "-r", role, "-p", party, "-cpn", name)
        return ok(address, *args)

    parameters = component(guest, "component_parameters", "guest", GUEST, "hetero_lr_0")["data"]
    assert parameters["HeteroLogisticParam"]["max_iter"] == 3
    host_parameters = component(host, "component_parameters", "host", HOST, "dataio_0")["data"]
    assert host_parameters["DataIOParam"]["with_label"] is False

    # HeteroLR's loss is the arbiter's; the evaluation is the guest's.
    assert component(host, "component_metrics", "arbiter", HOST, "hetero_lr_0")["data"] == {
        "train": ["loss"]
    }
    loss = component(host, "component_metric_all", "arbiter", HOST, "hetero_lr_0")["data"]
    assert [point[0] for point in loss["train"]["loss"]["data"]] == [0, 1, 2]
    assert loss["train"]["loss"]["meta"]["metric_type"] == "LOSS"
    evaluation = component(guest, "component_metric_all", "guest", GUEST, "evaluation_0")["data"]
    summary = dict(evaluation["train"]["hetero_lr_0"]["data"])
    assert 0.5 < summary["auc"] <= 1
    assert evaluation["train"]["hetero_lr_0_roc"]["meta"]["metric_type"] == "ROC_EVALUATION"

    guest_model = component(guest, "component_output_model", "guest", GUEST, "hetero_lr_0")
    assert guest_model["data"]["iters"] == 3
    assert sorted(guest_model["data"]["weight"]) == [f"x{i}" for i in range(10)]
    host_model = component(host, "component_output_model", "host", HOST, "hetero_lr_0")
    assert sorted(host_model["data"]["weight"]) == sorted(f"x{i}" for i in range(20))

    out = trained.work / "out"
    for address, role, party, columns in ((guest, "guest", GUEST, 12), (host, "host", HOST, 21)):
        tables = component(address, "component_output_data_table", role, party, "intersection_0")
        (table,) = tables["data"]
        args = ("-j", job_id, "-r", role, "-p", party, "-cpn", "intersection_0", "-o", str(out))
        downloaded = ok(address, "-f", "component_output_data", *args)
        directory = out / f"job_{job_id}_intersection_0_{role}_{party}_output_data"
        assert downloaded["directory"] == str(directory)
        header = json.loads((directory / f"{table['data_name']}.meta").read_text())["header"]
        assert len(header) == columns and header[0] == "id"
        lines = (directory / f"{table['data_name']}.csv").read_text().splitlines()
        assert lines[0].replace('"', "").split(",") == header
        assert len(lines) == 1 + 569  # every id is at both parties

    at_guest = ("-j", job_id, "-r", "guest", "-p", GUEST)
    refused = printed(
        run(guest, "-f", "component_output_data", *at_guest, "-cpn", "nothing_0", "-o", str(out))
    )
    assert refused["retcode"] != 0 and "nothing_0" in refused["retmsg"]


def test_data_and_tables(trained: Trained) -> None:
    guest, host = trained.guest, trained.host
    for address, table, columns in (
        (guest, "breast_hetero_guest", "y,x0,x1,x2,x3,x4,x5,x6,x7,x8,x9"),
        (host, "breast_hetero_host", ",".join(f"x{i}" for i in range(20))),
    ):
        info = ok(address, "-f", "table_info", "-n", "experiment", "-t", table)["data"]
        assert (info["count"], info["exist"], info["schema"]["header"]) == (569, True, columns)
        (history,) = ok(address, "-f", "upload_history", "-limit", "1")["data"]
        assert history[trained.uploads[table]]["upload_info"]["upload_count"] == 569

    # The node writes downloads, under a directory it may write to.
    target = trained.standalone.cwd / "downloads" / "guest.csv"
    download = ok(
        guest, "-f", "download", "-n", "experiment", "-t", "breast_hetero_guest", "-o", str(target)
    )
    eventually(guest, download["jobId"], "success")
    lines = target.read_text().splitlines()
    source = (EXAMPLES / "data" / "breast_hetero_guest.csv").read_text().splitlines()
    assert lines[0] == source[0] and sorted(lines[1:]) == sorted(source[1:])

    # A second copy of the host's table, then deleted.
    copy = ("-n", "experiment", "-t", "host_copy")
    upload = ok(host, "-f", "upload", "-c", "examples/upload/breast_hetero_host.json", *copy)
    eventually(host, upload["jobId"], "success")
    assert ok(host, "-f", "table_info", *copy)["data"]["count"] == 569
    deleted = ok(host, "-f", "table_delete", *copy)
    assert deleted["data"] == [{"table_name": "host_copy", "namespace": "experiment"}]
    assert ok(host, "-f", "table_info", *copy)["data"]["exist"] is False
    assert printed(run(host, "-f", "table_delete", *copy))["retcode"] != 0


def test_stop_and_clean_a_second_job(trained: Trained) -> None:
    guest = trained.guest
    dsl = str(EXAMPLES / "hetero_lr" / "dsl_v1.json")
    follower = subprocess.Popen(
        [
            *(sys.executable, "-m", "fateflow_grpc.client_cli", "--address", guest),
            *("-f", "submit_job", "-c", str(conf(trained.work, 100)), "-d", dsl, "--wait"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        deadline = time.monotonic() + 60
        while not (running := ok(guest, "-f", "query_job", "-s", "running")["data"]):
            assert time.monotonic() < deadline, "the second job never ran"
            time.sleep(0.5)
        (row,) = running
        job_id = row["f_job_id"]
        assert job_id != trained.job_id
        assert ok(guest, "-f", "stop_job", "-j", job_id)["retmsg"] == "success"
        stdout, stderr = follower.communicate(timeout=60)
    finally:
        follower.kill()
    # --wait ends with the canceled job's row, and says so by its exit status.
    assert follower.returncode == 1, stderr
    (final,) = json.loads(stdout)["data"]
    assert (final["f_job_id"], final["f_status"]) == (job_id, "canceled")

    again = printed(run(guest, "-f", "stop_job", "-j", job_id))
    assert again["retcode"] == 103 and "already ended" in again["retmsg"]

    at_guest = ("-j", job_id, "-r", "guest", "-p", GUEST)
    assert ok(guest, "-f", "data_view_query", *at_guest)["data"]
    assert ok(guest, "-f", "clean_job", "-j", job_id)["retmsg"] == "success"
    cleaned = printed(run(guest, "-f", "data_view_query", *at_guest))
    assert cleaned["retcode"] == 101 and cleaned["retmsg"] == "find data view failed"
    deleted = ok(guest, "-f", "component_metric_delete", "-j", job_id)
    assert isinstance(deleted["data"], int)


def write_json(path: Path, value: Any) -> str:
    path.write_text(json.dumps(value))
    return str(path)


def test_model_commands(trained: Trained) -> None:
    guest, host, job_id, work = trained.guest, trained.host, trained.job_id, trained.work
    model = {"model_id": MODEL_ID, "model_version": job_id}
    at_guest = ("-c", write_json(work / "model.json", model), "-r", "guest", "-p", GUEST)
    names = {**model, "role": "guest", "party_id": int(GUEST)}

    stored = ok(guest, "-f", "store", *at_guest)
    assert stored["data"] == {**names, "party_model_id": f"guest#{GUEST}#{MODEL_ID}"}
    again = printed(run(guest, "-f", "store", *at_guest))
    assert again["retcode"] != 0 and "force_update" in again["retmsg"]
    restored = ok(guest, "-f", "restore", *at_guest)
    assert restored["data"] == stored["data"]

    exported = ok(guest, "-f", "export", *at_guest, "-o", str(work / "models"))
    archive = work / "models" / f"guest#{GUEST}#{MODEL_ID}_{job_id}.zip"
    assert exported["file"] == str(archive)
    assert exported["retmsg"] == f"download successfully, please check {archive}"
    with zipfile.ZipFile(archive) as files:
        exported_files = {name: files.read(name) for name in files.namelist()}
    assert any(name.startswith("hetero_lr_0/") for name in exported_files)
    elsewhere = ("-c", str(work / "model.json"), "-r", "guest", "-p", "9998", "-o", str(work))
    assert printed(run(guest, "-f", "export", *elsewhere))["retcode"] != 0

    # The guest has the model; the host's node has not, and takes it.
    refused = printed(run(guest, "-f", "import", *at_guest, "-i", str(archive)))
    assert refused["retcode"] != 0 and "exists" in refused["retmsg"]
    imported = ok(host, "-f", "import", *at_guest, "-i", str(archive))
    assert imported["data"]["party_model_id"] == f"guest#{GUEST}#{MODEL_ID}"
    back = ok(host, "-f", "export", *at_guest, "-o", str(work / "imported"))
    with zipfile.ZipFile(back["file"]) as files:
        round_trip = {name: files.read(name) for name in files.namelist()}
    info = json.loads(round_trip.pop("model_info.json"))
    assert (info["f_model_version"], info["f_imported"]) == (job_id, True)
    del exported_files["model_info.json"]
    assert round_trip == exported_files  # the model itself, byte for byte
    missing = printed(run(host, "-f", "import", *at_guest, "-i", str(work / "none.zip")))
    assert missing["retcode"] == 100 and "does not exist" in missing["retmsg"]

    with ServingEndpoint() as serving:
        publish = {"job_id": job_id, "servings": [serving.address]}
        loaded = ok(guest, "-f", "load", "-c", write_json(work / "load.json", publish))
        assert loaded["data"]["guest"] == {GUEST: 0} and loaded["data"]["host"] == {HOST: 0}
        bind = {**publish, "service_id": "breast_lr"}
        bound = ok(guest, "-f", "bind", "-c", write_json(work / "bind.json", bind))
        assert bound["retmsg"] == "service id is breast_lr"
    calls = sorted((method, request.local.role) for method, request in serving.requests)
    assert calls == [("publishBind", "guest"), ("publishLoad", "guest"), ("publishLoad", "host")]
    (bind_request,) = [r for method, r in serving.requests if method == "publishBind"]
    assert bind_request.serviceId == "breast_lr"
    (guest_part,) = bind_request.model["guest"].roleModelInfo.values()
    assert (guest_part.tableName, guest_part.namespace) == (job_id, f"guest#{GUEST}#{MODEL_ID}")

    unreachable = {"job_id": job_id, "servings": ["127.0.0.1:9"]}
    failed = printed(run(guest, "-f", "load", "-c", write_json(work / "nowhere.json", unreachable)))
    assert failed["retcode"] != 0 and "127.0.0.1:9 could not be reached" in failed["retmsg"]


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (("-f", "stop_job"), "-j (job_id)"),
        (("-f", "query_job", "-j", "1", "--wait"), "--wait"),
        (("-f", "submit_job", "-d", "dsl.json"), "-c (config)"),
        (("-f", "component_metrics", "-j", "1", "-r", "guest", "-p", "9999"), "-cpn"),
        (
            ("-f", "component_output_data", "-j", "1", "-r", "guest", "-p", "9999", "-cpn", "a"),
            "-o",
        ),
        (("-f", "export", "-r", "guest", "-p", "9999", "-o", "out"), "model_id (in -c)"),
        (("-f", "import", "-r", "guest", "-p", "9999"), "-i (file)"),
        (("-f", "bind"), "service_id"),
        (("-f", "no_such_function"), "no_such_function"),
    ],
)
def test_usage_errors_name_what_is_missing(args: tuple[str, ...], named: str) -> None:
    # Nothing listens there: a request sent would print "Connection refused".
    done = run("http://127.0.0.1:9", *args)
    assert done.returncode == 2 and done.stdout == ""
    assert named in done.stderr and "Traceback" not in done.stderr
