"""FATE 1.11's own HeteroLinR and HeteroPoisson example jobs (`examples/dsl/v2`, DSLs and
confs unchanged but for the predict job's model id and version, as FATE's testsuite fills
them in; read from a git mirror of FATE, skipped when absent) on a `fateflow standalone` serving FATE's
party ids, on FATE's motor and dvisits tables: training with Evaluation, then prediction."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from fateflow_grpc.components.evaluation import metrics
from tests.data import EXAMPLES, fate_table
from tests.standalone.process import Standalone, run_standalone
from tests.standalone.test_fate_io_jobs import _repository, _upload
from tests.standalone.test_standalone import submit, wait_final

pytestmark = pytest.mark.slow

PARTIES = (9999, 10000)
TAG = "v1.11.4"
#: Evaluation's regression metrics (FATE's `regression` eval_type: all of them by default).
REGRESSION = set(metrics.METRICS[metrics.REGRESSION])


def _example(folder: str, name: str) -> Any:
    shown = subprocess.run(
        ["git", "-C", str(_repository()), "show", f"{TAG}:examples/dsl/v2/{folder}/{name}"],
        capture_output=True,
        check=True,
    )
    return json.loads(shown.stdout)


@pytest.fixture(scope="module")
def standalone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Standalone]:
    _repository()
    with run_standalone(tmp_path_factory.mktemp("standalone"), PARTIES) as running:
        with running.channel() as channel:
            for table in ("motor_hetero", "motor_hetero_mini", "dvisits_hetero"):
                for role in ("guest", "host"):
                    _upload(channel, fate_table(f"{table}_{role}.csv"), f"{table}_{role}", 1)
            for role in ("guest", "host"):
                table = f"breast_hetero_{role}"
                _upload(channel, EXAMPLES / f"{table}.csv", table, 1)
        yield running


def _run(standalone: Standalone, folder: str, dsl_name: str, conf: Any) -> str:
    dsl = _example(folder, dsl_name)
    with standalone.channel() as channel:
        job_id = submit(channel, dsl, conf)
        ended = wait_final(channel, job_id, timeout=1500)
    assert set(ended.values()) == {"success"}, ended
    return job_id


def _post(standalone: Standalone, path: str, job_id: str, component: str) -> Any:
    answer = standalone.post(
        path, {"job_id": job_id, "role": "guest", "party_id": 9999, "component_name": component}
    )
    assert answer["retcode"] == 0, answer
    return answer


def _train_and_predict(
    standalone: Standalone, folder: str, train: str, predict: str, module: str
) -> None:
    job_id = _run(standalone, folder, f"{train}_dsl.json", _example(folder, f"{train}_conf.json"))
    if "evaluation_0" in _example(folder, f"{train}_dsl.json")["components"]:
        evaluated = _post(standalone, "tracking/component/metric/all", job_id, "evaluation_0")
        [summary] = [v for k, v in evaluated["data"]["train"].items() if k == module]
        assert set(dict(summary["data"])) == REGRESSION
    output = _post(standalone, "tracking/component/output/data", job_id, module)
    # After the table's own id name (motor's is `idx`).
    assert output["meta"]["header"][0][1:] == [
        "label",
        "predict_result",
        "predict_score",
        "predict_detail",
        "type",
    ]
    trained = {row[0]: float(row[3]) for row in output["data"][0]}

    conf = _example(folder, f"{predict}_conf.json")
    config = standalone.post("job/config", {"job_id": job_id, "role": "guest", "party_id": 9999})
    assert config["retcode"] == 0, config
    # As FATE's testsuite does: the trained model's id and version into the predict conf.
    conf["job_parameters"]["common"].update(config["data"]["model_info"])
    predict_id = _run(standalone, folder, f"{predict}_dsl.json", conf)
    output = _post(standalone, "tracking/component/output/data", predict_id, module)
    predicted = {row[0]: float(row[3]) for row in output["data"][0]}
    assert predicted.keys() == trained.keys()
    assert max(abs(predicted[k] - trained[k]) for k in trained) < 1e-9


# Not here: FATE's sample-weight job, whose host's SampleWeight (`need_run: false`) passes its
# input on in FATE and leaves none here (the scheduler's matter, not these modules').
@pytest.mark.parametrize(
    ("train", "predict"),
    [
        ("test_hetero_linr_train_job", "test_hetero_linr_predict_job"),
        ("test_hetero_linr_multi_host_train_job", "test_hetero_linr_multi_host_predict_job"),
    ],
)
def test_hetero_linr_on_motor(standalone: Standalone, train: str, predict: str) -> None:
    _train_and_predict(standalone, "hetero_linear_regression", train, predict, "hetero_linr_0")


def test_hetero_poisson_on_dvisits(standalone: Standalone) -> None:
    _train_and_predict(
        standalone,
        "hetero_poisson_regression",
        "test_hetero_poisson_train_job",
        "test_hetero_poisson_predict_job",
        "hetero_poisson_0",
    )


@pytest.mark.parametrize("module", ["linr"])
def test_hetero_stepwise(standalone: Standalone, module: str) -> None:
    """FATE's stepwise example (`hetero_stepwise`): the model kept has the features of the
    last step's best, and each step is a `stepwise_<n>` metric at every party."""
    folder = "hetero_stepwise"
    conf = _example(folder, f"test_hetero_stepwise_{module}_conf.json")
    job_id = _run(standalone, folder, f"test_hetero_stepwise_{module}_dsl.json", conf)
    component = f"hetero_{'linr' if module == 'linr' else 'poisson'}_0"
    found = _post(standalone, "tracking/component/metric/all", job_id, component)
    steps = {name for name in found["data"]["train"] if name.startswith("stepwise_")}
    assert "stepwise_0" in steps
    last = found["data"]["train"][max(steps)]["meta"]
    model = _post(standalone, "tracking/component/output/model", job_id, component)
    assert len(model["data"]["header"]) == sum(last["guest_mask"]), model["data"]


@pytest.mark.parametrize(("model", "most"), [("lr", 56), ("sbt", 10)])
def test_positive_unlabeled_between_two_models(
    standalone: Standalone, model: str, most: int
) -> None:
    """FATE's PositiveUnlabeled examples (guest 10000, host 9999, breast): the second model
    (HeteroLR, HeteroSecureBoost) trains on the first's relabeled data."""
    folder = "positive_unlabeled"
    conf = _example(folder, f"test_positive_unlabeled_{model}_conf.json")
    job_id = _run(standalone, folder, f"test_positive_unlabeled_{model}_dsl.json", conf)
    answer = standalone.post(
        "tracking/component/summary/download",
        {
            "job_id": job_id,
            "role": "guest",
            "party_id": 10000,
            "component_name": "positive_unlabeled_0",
        },
    )
    assert answer["retcode"] == 0, answer
    # LR: proportion 0.1 of 569 rows, the unlabeled among the 56 best scored; SBT: quantity 10.
    assert 0 < answer["data"]["count of converted unlabeled"] <= most
