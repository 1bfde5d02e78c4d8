"""FATE's official client, fate-client 1.5.0 from PyPI, unmodified, against `fateflow standalone`.

The client gets a venv of its own (in a temporary directory, nothing cached outside it), built as
the contract's §0 says works on Python 3.11: the wheel without its declared dependencies (it pins
TensorFlow 1.15, which has no build for 3.11), then the dependencies it really uses, bounded to
the versions it was written against. Installing needs PyPI; a machine without it fails here
with pip's own message rather than skipping, since CI reaches PyPI.

Its `flow` CLI uploads both parties' tables, runs the hetero LR example job and reads the
job, metrics and output data back; its pipeline SDK builds and fits the same model
(`pipeline_hetero_lr.py`). `flow init` and `pipeline init` write their settings into the venv's
own site-packages, as they do for any user. The only stand-in is the one TensorFlow module that
`import pipeline.component` needs (see that script).
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.multiparty.cluster import EXAMPLES, FINAL
from tests.standalone.process import Standalone, run_standalone

pytestmark = pytest.mark.slow

#: fate-client 1.5.0's declared dependencies that it uses, bounded as the contract's §0 found
#: necessary (old Jinja2 needs `soft_unicode`, requests_toolbelt 0.9 `urllib3.contrib.appengine`).
DEPENDENCIES = (
    "click<8",
    "flask<2",
    "loguru<0.6",
    "requests<3",
    "requests_toolbelt<0.10",
    "ruamel.yaml<0.17",
    "setuptools<51",
    "markupsafe<2.1",
    "urllib3<2",
)
GUEST, HOST = 9999, 10000
TABLES = {GUEST: "breast_hetero_guest", HOST: "breast_hetero_host"}
#: Ports of the standalone parties are spelled 127.1: the CLI replaces 127.0.0.1 by a LAN address.
IP = "127.1"
#: Room for a loaded machine; the jobs take about ten seconds on an idle one.
JOB_TIMEOUT = 300


def _run(command: list[str], timeout: float = 120) -> str:
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{command} exited {done.returncode}:\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def fate_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bin directory of a fresh venv holding fate-client 1.5.0."""
    venv = tmp_path_factory.mktemp("fate_venv")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-cache-dir"]
    pip += ["--disable-pip-version-check"]
    for arguments in (["--no-deps", "fate-client==1.5.0"], list(DEPENDENCIES)):
        done = subprocess.run(pip + arguments, capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            pytest.fail(
                f"pip could not install {arguments} from PyPI (this test needs it):\n{done.stderr}"
            )
    return venv / "bin"


@pytest.fixture(scope="module")
def standalone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Standalone]:
    with run_standalone(tmp_path_factory.mktemp("standalone")) as running:
        yield running


def flow(fate_bin: Path, port: int, *args: str) -> dict[str, Any]:
    """Run `flow` at the party whose gateway is on `port`; its answer, which it prints as JSON.

    The CLI always exits 0, so the answer is what says whether the call worked.
    """
    initialised = json.loads(
        _run([str(fate_bin / "flow"), "init", "--ip", IP, "--port", str(port)])
    )
    assert initialised["retcode"] == 0, initialised
    answer: dict[str, Any] = json.loads(_run([str(fate_bin / "flow"), *args]))
    return answer


@pytest.fixture(scope="module")
def tables(
    fate_bin: Path, standalone: Standalone, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """`flow data upload` of the hetero tables, each at its own party."""
    confs = tmp_path_factory.mktemp("upload")
    for party in standalone.parties:
        table = TABLES[party.party_id]
        conf = confs / f"{table}.json"
        conf.write_text(
            json.dumps(
                {
                    "file": str(EXAMPLES / "data" / f"{table}.csv"),
                    "head": 1,
                    "partition": 4,
                    "work_mode": 1,
                    "namespace": "experiment",
                    "table_name": table,
                }
            )
        )
        answer = flow(fate_bin, party.http_port, "data", "upload", "-c", str(conf))
        assert answer["retcode"] == 0, answer
        assert answer["data"]["table_name"] == table and answer["jobId"]
        # An upload is a local job of its party, followed as FATE's clients do.
        job = wait_for_job(fate_bin, party.http_port, answer["jobId"], "local", "0")
        assert job["f_status"] == "success", job


def wait_for_job(
    fate_bin: Path, port: int, job_id: str, role: str, party_id: str
) -> dict[str, Any]:
    """`flow job query` until the job ends; its last row.

    The CLI deletes each row's `f_runtime_conf` and `f_dsl` before printing, and crashes (no
    JSON) when a row lacks them.
    """
    deadline = time.monotonic() + JOB_TIMEOUT
    while True:
        answer = flow(fate_bin, port, "job", "query", "-j", job_id, "-r", role, "-p", party_id)
        assert answer["retcode"] == 0 and len(answer["data"]) == 1, answer
        (row,) = answer["data"]
        assert row["f_job_id"] == job_id
        if row["f_status"] in FINAL:
            return row
        assert time.monotonic() < deadline, f"job {job_id} still {row['f_status']}"
        time.sleep(0.5)


@pytest.mark.usefixtures("tables")
def test_flow_cli_runs_the_hetero_lr_job(
    fate_bin: Path, standalone: Standalone, tmp_path: Path
) -> None:
    guest, host = standalone.guest.http_port, standalone.host.http_port
    conf = json.loads((EXAMPLES / "hetero_lr" / "conf_v1.json").read_text())
    conf["algorithm_parameters"]["hetero_lr_0"]["max_iter"] = 3
    (tmp_path / "conf.json").write_text(json.dumps(conf))
    submitted = flow(
        fate_bin,
        guest,
        "job",
        "submit",
        "-c",
        str(tmp_path / "conf.json"),
        "-d",
        str(EXAMPLES / "hetero_lr" / "dsl_v1.json"),
    )
    assert submitted["retcode"] == 0, submitted
    job_id = submitted["jobId"]
    assert submitted["data"]["model_info"] == {
        "model_id": "arbiter-10000#guest-9999#host-10000#model",
        "model_version": job_id,
    }
    job = wait_for_job(fate_bin, guest, job_id, "guest", str(GUEST))
    assert (job["f_status"], job["f_progress"], job["f_roles"]) == (
        "success",
        100,
        {"guest": [GUEST], "host": [HOST], "arbiter": [HOST]},
    ), job

    ids = ("-j", job_id, "-r", "guest", "-p", str(GUEST))
    evaluation = flow(fate_bin, guest, "component", "metric-all", *ids, "-cpn", "evaluation_0")
    assert evaluation["retcode"] == 0, evaluation
    summary = dict(evaluation["data"]["train"]["hetero_lr_0"]["data"])
    assert summary["auc"] > 0.9 and summary["ks"] > 0.5, summary
    # The loss is the arbiter's, read from the arbiter's own node: one point per iteration.
    losses = flow(
        fate_bin,
        host,
        "component",
        "metric-all",
        "-j",
        job_id,
        "-r",
        "arbiter",
        "-p",
        str(HOST),
        "-cpn",
        "hetero_lr_0",
    )
    assert losses["retcode"] == 0, losses
    loss = losses["data"]["train"]["loss"]
    assert [point[0] for point in loss["data"]] == [0, 1, 2]
    assert loss["meta"]["metric_type"] == "LOSS"

    downloaded = flow(
        fate_bin,
        guest,
        "component",
        "output-data",
        *ids,
        "-cpn",
        "hetero_lr_0",
        "-o",
        str(tmp_path),
    )
    assert downloaded["retcode"] == 0, downloaded
    directory = Path(downloaded["directory"])
    # FATE names the files after the DSL's output: "train" in this v1 DSL.
    assert sorted(p.name for p in directory.iterdir()) == ["train.csv", "train.meta"]
    header = json.loads((directory / "train.meta").read_text())["header"]
    with (directory / "train.csv").open(newline="") as f:
        rows = list(csv.reader(f))
    assert (
        rows[0]
        == header
        == ["id", "label", "predict_result", "predict_score", "predict_detail", "type"]
    )
    assert len(rows) == 1 + 569
    assert {row[5] for row in rows[1:]} == {"train"}
    right = sum(row[1] == row[2] for row in rows[1:])
    assert right / 569 > 0.9


@pytest.mark.usefixtures("tables")
def test_pipeline_sdk_fits_hetero_lr_and_predicts(
    fate_bin: Path, standalone: Standalone, tmp_path: Path
) -> None:
    _run(
        [str(fate_bin / "pipeline"), "init", "--ip", IP, "--port", str(standalone.guest.http_port)]
    )
    script = Path(__file__).with_name("pipeline_hetero_lr.py")
    # The SDK prints its progress on stdout too; the script's answer is the last line.
    output = _run([str(fate_bin / "python"), str(script)], timeout=JOB_TIMEOUT)
    result = json.loads(output.splitlines()[-1])

    assert result["evaluation"]["auc"] > 0.9, result["evaluation"]
    assert result["lr_summary"]["iters"] == 3
    model = result["model"]
    assert model["header"] == [f"x{i}" for i in range(10)]
    assert sorted(model["weight"]) == model["header"] and model["iters"] == 3
    predictions = result["predictions"]
    assert predictions["meta"] == [
        "id",
        "label",
        "predict_result",
        "predict_score",
        "predict_detail",
        "type",
    ]
    # `limits` counts the header line, which the SDK returns first.
    header, *rows = csv.reader(predictions["data"])
    assert header == predictions["meta"] and len(rows) == 9
    # The predict job, from the deployed model, gives the training's scores for the same rows.
    downloaded = flow(
        fate_bin,
        standalone.guest.http_port,
        *("component", "output-data", "-j", result["predict_job_id"], "-r", "guest"),
        *("-p", str(standalone.guest.party_id), "-cpn", "hetero_lr_0", "-o", str(tmp_path)),
    )
    assert downloaded["retcode"] == 0, downloaded
    (predicted_csv,) = Path(downloaded["directory"]).glob("*.csv")
    with predicted_csv.open(newline="") as f:
        predicted_header, *predicted_rows = csv.reader(f)
    assert predicted_header == predictions["meta"] and len(predicted_rows) == 569
    predicted_score = {row[0]: float(row[3]) for row in predicted_rows}
    for row in rows:
        assert abs(predicted_score[row[0]] - float(row[3])) < 1e-9
