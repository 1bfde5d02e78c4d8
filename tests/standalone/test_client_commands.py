"""Every command of `fateflow-client`, run as a user runs it, against `fateflow standalone`'s
one address (parties 9999, 10000 and 10001: guest, host and arbiter of the examples).

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
GUEST, HOST, ARBITER = "9999", "10000", "10001"
COMPONENTS = ("dataio_0", "intersection_0", "hetero_lr_0", "evaluation_0")
MODEL_ID = "arbiter-10001#guest-9999#host-10000#model"


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
    """The standalone after both uploads and one hetero LR job."""

    standalone: Standalone
    #: Its one address, where every party is served.
    address: str
    job_id: str
    #: What `submit_job --wait` printed.
    submitted: dict[str, Any]
    uploads: dict[str, str]
    work: Path


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Trained]:
    work = tmp_path_factory.mktemp("client")
    with run_standalone(work, (int(GUEST), int(HOST), int(ARBITER))) as standalone:
        address = standalone.http
        uploads = {}
        for table in ("breast_hetero_guest", "breast_hetero_host"):
            conf_path = f"examples/upload/{table}.json"
            uploaded = ok(address, "-f", "upload", "-c", conf_path, "-drop", "1")
            assert uploaded["data"]["table_name"] == table
            uploads[table] = uploaded["jobId"]
            eventually(address, uploaded["jobId"], "success")
        done = run(
            address,
            "-f",
            "submit_job",
            "-c",
            str(conf(work, 3)),
            "-d",
            str(EXAMPLES / "hetero_lr" / "dsl_v1.json"),
            "--wait",
        )
        submitted = printed(done)
        yield Trained(standalone, address, submitted["jobId"], submitted, uploads, work)


@pytest.mark.slow
def test_submit_wait_follows_the_job_to_its_end(trained: Trained) -> None:
    (row,) = trained.submitted["data"]
    assert row["f_job_id"] == trained.job_id
    assert (row["f_status"], row["f_progress"]) == ("success", 100)
    assert (row["f_role"], row["f_party_id"], row["f_is_initiator"]) == ("guest", GUEST, True)
    assert "f_dsl" not in row and "f_runtime_conf" not in row


@pytest.mark.slow
def test_job_queries(trained: Trained) -> None:
    address, job_id = trained.address, trained.job_id
    rows = ok(address, "-f", "query_job", "-j", job_id)["data"]
    assert {(r["f_role"], r["f_party_id"], r["f_status"]) for r in rows} == {
        ("guest", GUEST, "success"),
        ("host", HOST, "success"),
        ("arbiter", ARBITER, "success"),
    }
    assert not any("f_dsl" in row for row in rows)
    (row,) = ok(address, "-f", "query_job", "-j", job_id, "-r", "host", "-p", HOST)["data"]
    assert not row["f_is_initiator"]
    tasks = ok(address, "-f", "query_task", "-j", job_id, "-r", "guest", "-p", GUEST)["data"]
    assert sorted(t["f_component_name"] for t in tasks) == sorted(COMPONENTS)
    assert {t["f_status"] for t in tasks} == {"success"}
    # The arbiter runs HeteroLR, and Evaluation too (FATE's Evaluation lists the arbiter).
    arbiter_tasks = ok(address, "-f", "query_task", "-j", job_id, "-r", "arbiter")["data"]
    assert {(t["f_component_name"], t["f_party_id"]) for t in arbiter_tasks} == {
        ("hetero_lr_0", ARBITER),
        ("evaluation_0", ARBITER),
    }

    out = trained.work / "out"
    at_guest = ("-j", job_id, "-r", "guest", "-p", GUEST)
    config = ok(address, "-f", "job_config", *at_guest, "-o", str(out))
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

    # One archive holds every party's logs, as FATE's standalone gives them.
    logs = ok(address, "-f", "job_log", "-j", job_id, "-o", str(out))
    assert logs["directory"] == str(out / f"job_{job_id}_log")
    assert (Path(logs["directory"]) / "guest" / GUEST / "evaluation_0" / "INFO.log").exists()
    assert (Path(logs["directory"]) / "host" / HOST / "intersection_0" / "INFO.log").read_text()
    arbiter_log = Path(logs["directory"]) / "arbiter" / ARBITER / "hetero_lr_0" / "INFO.log"
    assert "iteration 2: loss" in arbiter_log.read_text()

    views = ok(address, "-f", "data_view_query", *at_guest)["data"]
    assert {v["f_component_name"] for v in views} >= {"dataio_0", "intersection_0"}
    assert {(v["f_role"], v["f_party_id"]) for v in views} == {("guest", GUEST)}


@pytest.mark.slow
def test_tracking_at_every_party(trained: Trained) -> None:
    address, job_id = trained.address, trained.job_id

    def component(function: str, role: str, party: str, name: str) -> Any:
        return ok(address, "-f", function, "-j", job_id, "-r", role, "-p", party, "-cpn", name)

    parameters = component("component_parameters", "guest", GUEST, "hetero_lr_0")["data"]
    assert parameters["HeteroLogisticParam"]["max_iter"] == 3
    host_parameters = component("component_parameters", "host", HOST, "dataio_0")["data"]
    assert host_parameters["DataIOParam"]["with_label"] is False

    # HeteroLR's loss is the arbiter's; the evaluation is the guest's.
    assert component("component_metrics", "arbiter", ARBITER, "hetero_lr_0")["data"] == {
        "train": ["loss"]
    }
    loss = component("component_metric_all", "arbiter", ARBITER, "hetero_lr_0")["data"]
    assert [point[0] for point in loss["train"]["loss"]["data"]] == [0, 1, 2]
    assert loss["train"]["loss"]["meta"]["metric_type"] == "LOSS"
    evaluation = component("component_metric_all", "guest", GUEST, "evaluation_0")["data"]
    summary = dict(evaluation["train"]["hetero_lr_0"]["data"])
    assert 0.5 < summary["auc"] <= 1
    assert evaluation["train"]["hetero_lr_0_roc"]["meta"]["metric_type"] == "ROC_EVALUATION"

    guest_model = component("component_output_model", "guest", GUEST, "hetero_lr_0")
    assert guest_model["data"]["iters"] == 3
    assert sorted(guest_model["data"]["weight"]) == [f"x{i}" for i in range(10)]
    host_model = component("component_output_model", "host", HOST, "hetero_lr_0")
    assert sorted(host_model["data"]["weight"]) == sorted(f"x{i}" for i in range(20))

    out = trained.work / "out"
    for role, party, columns in (("guest", GUEST, 12), ("host", HOST, 21)):
        tables = component("component_output_data_table", role, party, "intersection_0")
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
        run(address, "-f", "component_output_data", *at_guest, "-cpn", "nothing_0", "-o", str(out))
    )
    assert refused["retcode"] != 0 and "nothing_0" in refused["retmsg"]
    elsewhere = ("-j", job_id, "-r", "guest", "-p", "9998", "-cpn", "evaluation_0")
    not_here = printed(run(address, "-f", "component_metric_all", *elsewhere))
    assert not_here["retcode"] == 101 and "party 9998 is not served here" in not_here["retmsg"]


@pytest.mark.slow
def test_data_and_tables(trained: Trained) -> None:
    address = trained.address
    for table, columns in (
        ("breast_hetero_guest", "y,x0,x1,x2,x3,x4,x5,x6,x7,x8,x9"),
        ("breast_hetero_host", ",".join(f"x{i}" for i in range(20))),
    ):
        info = ok(address, "-f", "table_info", "-n", "experiment", "-t", table)["data"]
        assert (info["count"], info["exist"], info["schema"]["header"]) == (569, True, columns)
    history = ok(address, "-f", "upload_history", "-limit", "2")["data"]
    counts = {
        job: entry["upload_info"]["upload_count"] for e in history for job, entry in e.items()
    }
    assert counts == {trained.uploads[table]: 569 for table in trained.uploads}

    # The node writes downloads, under a directory it may write to.
    target = trained.standalone.cwd / "downloads" / "guest.csv"
    download = ok(
        address,
        "-f",
        "download",
        "-n",
        "experiment",
        "-t",
        "breast_hetero_guest",
        "-o",
        str(target),
    )
    eventually(address, download["jobId"], "success")
    lines = target.read_text().splitlines()
    source = (EXAMPLES / "data" / "breast_hetero_guest.csv").read_text().splitlines()
    assert lines[0] == source[0] and sorted(lines[1:]) == sorted(source[1:])

    # A second copy of the host's table, then deleted.
    copy = ("-n", "experiment", "-t", "host_copy")
    upload = ok(address, "-f", "upload", "-c", "examples/upload/breast_hetero_host.json", *copy)
    eventually(address, upload["jobId"], "success")
    assert ok(address, "-f", "table_info", *copy)["data"]["count"] == 569
    deleted = ok(address, "-f", "table_delete", *copy)
    assert deleted["data"] == [{"table_name": "host_copy", "namespace": "experiment"}]
    assert ok(address, "-f", "table_info", *copy)["data"]["exist"] is False
    assert printed(run(address, "-f", "table_delete", *copy))["retcode"] != 0


@pytest.mark.slow
def test_stop_and_clean_a_second_job(trained: Trained) -> None:
    address = trained.address
    dsl = str(EXAMPLES / "hetero_lr" / "dsl_v1.json")
    follower = subprocess.Popen(
        [
            *(sys.executable, "-m", "fateflow_grpc.client_cli", "--address", address),
            *("-f", "submit_job", "-c", str(conf(trained.work, 100)), "-d", dsl, "--wait"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        deadline = time.monotonic() + 60
        while not (running := ok(address, "-f", "query_job", "-s", "running")["data"]):
            assert time.monotonic() < deadline, "the second job never ran"
            time.sleep(0.5)
        (job_id,) = {row["f_job_id"] for row in running}
        assert job_id != trained.job_id
        assert ok(address, "-f", "stop_job", "-j", job_id)["retmsg"] == "success"
        stdout, stderr = follower.communicate(timeout=60)
    finally:
        follower.kill()
    # --wait ends with the canceled job's row, and says so by its exit status.
    assert follower.returncode == 1, stderr
    (final,) = json.loads(stdout)["data"]
    assert (final["f_job_id"], final["f_status"]) == (job_id, "canceled")
    # Every party ended it.
    rows = ok(address, "-f", "query_job", "-j", job_id)["data"]
    assert [row["f_status"] for row in rows] == ["canceled"] * 3

    again = printed(run(address, "-f", "stop_job", "-j", job_id))
    assert again["retcode"] == 103 and "already ended" in again["retmsg"]

    at_guest = ("-j", job_id, "-r", "guest", "-p", GUEST)
    assert ok(address, "-f", "data_view_query", *at_guest)["data"]
    assert ok(address, "-f", "clean_job", "-j", job_id)["retmsg"] == "success"
    cleaned = printed(run(address, "-f", "data_view_query", "-j", job_id))
    assert cleaned["retcode"] == 101 and cleaned["retmsg"].startswith("find data view failed")
    deleted = ok(address, "-f", "component_metric_delete", "-j", job_id)
    assert isinstance(deleted["data"], int)


def write_json(path: Path, value: Any) -> str:
    path.write_text(json.dumps(value))
    return str(path)


@pytest.mark.slow
def test_model_commands(trained: Trained) -> None:
    address, job_id, work = trained.address, trained.job_id, trained.work
    model = {"model_id": MODEL_ID, "model_version": job_id}
    at_guest = ("-c", write_json(work / "model.json", model), "-r", "guest", "-p", GUEST)
    names = {**model, "role": "guest", "party_id": int(GUEST)}

    stored = ok(address, "-f", "store", *at_guest)
    assert stored["data"] == {**names, "party_model_id": f"guest#{GUEST}#{MODEL_ID}"}
    again = printed(run(address, "-f", "store", *at_guest))
    assert again["retcode"] != 0 and "force_update" in again["retmsg"]
    restored = ok(address, "-f", "restore", *at_guest)
    assert restored["data"] == stored["data"]

    exported = ok(address, "-f", "export", *at_guest, "-o", str(work / "models"))
    archive = work / "models" / f"guest#{GUEST}#{MODEL_ID}_{job_id}.zip"
    assert exported["file"] == str(archive)
    assert exported["retmsg"] == f"download successfully, please check {archive}"
    with zipfile.ZipFile(archive) as files:
        exported_files = {name: files.read(name) for name in files.namelist()}
    assert any(name.startswith("hetero_lr_0/") for name in exported_files)
    elsewhere = ("-c", str(work / "model.json"), "-r", "guest", "-p", "9998", "-o", str(work))
    assert printed(run(address, "-f", "export", *elsewhere))["retcode"] != 0

    # The guest's node has the model: an import replaces it only when forced.
    refused = printed(run(address, "-f", "import", *at_guest, "-i", str(archive)))
    assert refused["retcode"] != 0 and "exists" in refused["retmsg"]
    forced = ("-c", write_json(work / "force.json", {**model, "force": True}))
    imported = ok(address, "-f", "import", *forced, "-r", "guest", "-p", GUEST, "-i", str(archive))
    assert imported["data"]["party_model_id"] == f"guest#{GUEST}#{MODEL_ID}"
    back = ok(address, "-f", "export", *at_guest, "-o", str(work / "imported"))
    with zipfile.ZipFile(back["file"]) as files:
        round_trip = {name: files.read(name) for name in files.namelist()}
    info = json.loads(round_trip.pop("model_info.json"))
    assert (info["f_model_version"], info["f_imported"]) == (job_id, True)
    del exported_files["model_info.json"]
    assert round_trip == exported_files  # the model itself, byte for byte
    missing = printed(run(address, "-f", "import", *at_guest, "-i", str(work / "none.zip")))
    assert missing["retcode"] == 100 and "does not exist" in missing["retmsg"]

    with ServingEndpoint() as serving:
        publish = {"job_id": job_id, "servings": [serving.address]}
        loaded = ok(address, "-f", "load", "-c", write_json(work / "load.json", publish))
        assert loaded["data"]["guest"] == {GUEST: 0} and loaded["data"]["host"] == {HOST: 0}
        bind = {**publish, "service_id": "breast_lr"}
        bound = ok(address, "-f", "bind", "-c", write_json(work / "bind.json", bind))
        assert bound["retmsg"] == "service id is breast_lr"
    calls = sorted((method, request.local.role) for method, request in serving.requests)
    assert calls == [("publishBind", "guest"), ("publishLoad", "guest"), ("publishLoad", "host")]
    (bind_request,) = [r for method, r in serving.requests if method == "publishBind"]
    assert bind_request.serviceId == "breast_lr"
    (guest_part,) = bind_request.model["guest"].roleModelInfo.values()
    assert (guest_part.tableName, guest_part.namespace) == (job_id, f"guest#{GUEST}#{MODEL_ID}")

    unreachable = {"job_id": job_id, "servings": ["127.0.0.1:9"]}
    failed = printed(
        run(address, "-f", "load", "-c", write_json(work / "nowhere.json", unreachable))
    )
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
