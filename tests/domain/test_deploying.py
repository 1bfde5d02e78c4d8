"""`model/deploy` between two parties' nodes (each its own database and model files, the host
reached through its own `deploy_here`): every part copied to one new version with its
inference DSL, or none; and the predict DSL and conf a deployed or trained model gives."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fateflow_grpc.domain.deploying import Deploying, DeployOrder, predict_conf_template
from fateflow_grpc.domain.dsl import generate_predict_dsl, inference_dsl
from fateflow_grpc.domain.parties import PartyRole
from fateflow_grpc.errors import FailedPrecondition, InvalidArgument, NotFound
from fateflow_grpc.ids import JOB_ID
from fateflow_grpc.party_client import deploy_order_from_proto, deploy_order_to_proto
from fateflow_grpc.storage import model_files, model_info
from fateflow_grpc.storage.database import create_database
from fateflow_grpc.storage.models import ModelInfo
from tests.domain.fate_examples import CATALOG, conf_v1, conf_v2, dsl_v1, dsl_v2

GUEST, HOST = 9999, 10000
MODEL_ID = "arbiter-10000#guest-9999#host-10000#model"
VERSION = "202612050800000000001"
ROLES = {"guest": [GUEST], "host": [HOST], "arbiter": [HOST]}
#: Each party's part of the trained model: (role, party) -> component -> alias -> model.
PARTS = {
    ("guest", GUEST): {"hetero_lr_0": {"model": {"weight": [0.5, -0.25]}}},
    ("host", HOST): {"hetero_lr_0": {"model": {"weight": [0.125]}}},
    ("arbiter", HOST): {"hetero_lr_0": {"model": {"iterations": 3}}},
}


class Node:
    """One party's database, model files and Deploying; other parties reached by id."""

    def __init__(self, party_id: int, root: Path, nodes: dict[int, Node]) -> None:
        self.party_id = party_id
        self.data_dir = root / str(party_id)
        self.database = create_database(f"sqlite:///{root / f'{party_id}.db'}")
        self.deploying = Deploying(party_id, self.data_dir, self.database, CATALOG, self)
        self._nodes = nodes

    def deploy_model(self, order: DeployOrder) -> None:
        # As the order crosses: through the party proto and back.
        crossed = deploy_order_from_proto(deploy_order_to_proto(order))
        self._nodes[order.party.party_id].deploying.deploy_here(crossed)

    def train(self, role: str, dsl: dict[str, Any], conf: dict[str, Any]) -> None:
        """Leave this party's part of the model as a training job does."""
        directory = model_files.version_dir(self.data_dir, role, self.party_id, MODEL_ID, VERSION)
        for component, outputs in PARTS[(role, self.party_id)].items():
            for alias, model in outputs.items():
                model_files.write_model(directory / component / f"{alias}.json", model)
        with self.database.session() as session:
            model_info.save_model_info(
                session,
                ModelInfo(
                    f_model_id=MODEL_ID,
                    f_model_version=VERSION,
                    f_role=role,
                    f_party_id=str(self.party_id),
                    f_job_id=VERSION,
                    f_roles=ROLES,
                    f_initiator_role="guest",
                    f_initiator_party_id=str(GUEST),
                    f_dsl=dsl,
                    f_runtime_conf=conf,
                ),
            )

    def part(self, role: str, version: str) -> tuple[ModelInfo | None, dict[Any, Any]]:
        key = model_info.ModelKey(MODEL_ID, version, role, str(self.party_id))
        with self.database.session() as session:
            row = model_info.get_model_info(session, key)
        directory = model_files.version_dir(self.data_dir, role, self.party_id, MODEL_ID, version)
        return row, model_files.read_models(directory)


@pytest.fixture
def nodes(tmp_path: Path) -> Iterator[dict[int, Node]]:
    nodes: dict[int, Node] = {}
    for party_id in (GUEST, HOST):
        nodes[party_id] = Node(party_id, tmp_path, nodes)
    yield nodes
    for node in nodes.values():
        node.database.dispose()


def trained(nodes: dict[int, Node], version: int = 2, *, host_too: bool = True) -> None:
    dsl, conf = (dsl_v2(), conf_v2()) if version == 2 else (dsl_v1(), conf_v1())
    nodes[GUEST].train("guest", dsl, conf)
    nodes[HOST].train("arbiter", dsl, conf)
    if host_too:
        nodes[HOST].train("host", dsl, conf)


def parts(nodes: dict[int, Node], version: str) -> dict[tuple[str, int], Any]:
    return {(role, party_id): nodes[party_id].part(role, version) for role, party_id in PARTS}


def test_every_party_copies_its_part_to_one_new_version(nodes: dict[int, Node]) -> None:
    trained(nodes)
    predict = generate_predict_dsl(
        dsl_v2(), ["reader_0", "data_transform_0", "intersection_0", "hetero_lr_0"], 2
    )
    answer = nodes[GUEST].deploying.deploy(MODEL_ID, VERSION, predict, None)
    child = answer["model_version"]
    assert JOB_ID.fullmatch(child) and child != VERSION
    assert answer == {
        "model_id": MODEL_ID,
        "model_version": child,
        "guest": {"9999": 0},
        "host": {"10000": 0},
        "arbiter": {"10000": 0},
        "detail": {
            role: {
                str(party): {"retcode": 0, "retmsg": f"deploy model of role {role} {party} success"}
            }
            for role, party in PARTS
        },
    }
    for (role, party_id), (row, files) in parts(nodes, child).items():
        trained_row, trained_files = nodes[party_id].part(role, VERSION)
        assert (
            files
            == trained_files
            == {
                (c, a): m
                for c, outputs in PARTS[(role, party_id)].items()
                for a, m in outputs.items()
            }
        )
        assert row is not None and trained_row is not None
        assert not row.f_parent and trained_row.f_parent
        assert row.f_parent_info == {"parent_model_id": MODEL_ID, "parent_model_version": VERSION}
        assert row.f_inference_dsl == predict
        assert (row.f_dsl, row.f_runtime_conf, row.f_roles) == (
            trained_row.f_dsl,
            trained_row.f_runtime_conf,
            trained_row.f_roles,
        )


@pytest.mark.parametrize(
    ("version", "cpn_list", "expected"),
    [
        # FATE 1.7: a v2 model without a list deploys every component of its DSL.
        (2, None, lambda: generate_predict_dsl(dsl_v2(), list(dsl_v2()["components"]), 2)),
        (
            2,
            "data_transform_0, intersection_0,hetero_lr_0",
            lambda: generate_predict_dsl(
                dsl_v2(), ["data_transform_0", "intersection_0", "hetero_lr_0"], 2
            ),
        ),
        (
            2,
            '["reader_0", "data_transform_0", "intersection_0", "hetero_lr_0"]',
            lambda: generate_predict_dsl(
                dsl_v2(), ["reader_0", "data_transform_0", "intersection_0", "hetero_lr_0"], 2
            ),
        ),
        # A v1 model, as FATE 1.5 kept its predict DSL: the components that need_deploy.
        (1, None, lambda: inference_dsl(dsl_v1(), CATALOG, 1)),
        (
            1,
            ["dataio_0", "hetero_lr_0"],
            lambda: generate_predict_dsl(dsl_v1(), ["dataio_0", "hetero_lr_0"], 1),
        ),
    ],
)
def test_without_a_predict_dsl_the_components_listed_are_deployed(
    nodes: dict[int, Node], version: int, cpn_list: Any, expected: Any
) -> None:
    trained(nodes, version)
    child = nodes[GUEST].deploying.deploy(MODEL_ID, VERSION, None, cpn_list)["model_version"]
    for row, _ in parts(nodes, child).values():
        assert row is not None and row.f_inference_dsl == expected()


def test_a_deployed_copy_is_not_deployed_again(nodes: dict[int, Node]) -> None:
    trained(nodes)
    child = nodes[GUEST].deploying.deploy(MODEL_ID, VERSION, None, None)["model_version"]
    with pytest.raises(FailedPrecondition, match=f"deploy its trained model, version {VERSION}"):
        nodes[GUEST].deploying.deploy(MODEL_ID, child, None, None)


def test_a_party_without_its_part_fails_the_deploy_and_nothing_stays_deployed(
    nodes: dict[int, Node],
) -> None:
    trained(nodes, host_too=False)
    with pytest.raises(FailedPrecondition) as refused:
        nodes[GUEST].deploying.deploy(MODEL_ID, VERSION, None, None)
    assert f"host {HOST} has no model {MODEL_ID} version {VERSION}" in refused.value.message
    for party_id, node in nodes.items():
        with node.database.session() as session:
            versions = {row.f_model_version for row in session.query(ModelInfo)}
        assert versions == {VERSION}, party_id
        assert {p.name for p in (node.data_dir / "models").glob("*/*")} == {VERSION}


def test_a_predict_dsl_that_does_not_parse_is_refused_before_any_copy(
    nodes: dict[int, Node],
) -> None:
    trained(nodes)
    bad = {"components": {"lr_0": {"module": "NoSuchModule"}}}
    with pytest.raises(InvalidArgument, match="NoSuchModule"):
        nodes[GUEST].deploying.deploy(MODEL_ID, VERSION, bad, None)
    with pytest.raises(InvalidArgument, match="predict_dsl is not JSON"):
        nodes[GUEST].deploying.deploy(MODEL_ID, VERSION, "{not json", None)
    for node in nodes.values():
        assert {p.name for p in (node.data_dir / "models").glob("*/*")} == {VERSION}


def test_only_the_training_jobs_initiator_deploys(nodes: dict[int, Node]) -> None:
    with pytest.raises(NotFound, match=f"Model {MODEL_ID} {VERSION} not found"):
        nodes[GUEST].deploying.deploy(MODEL_ID, VERSION, None, None)
    trained(nodes)
    with pytest.raises(NotFound, match=f"initiator is guest {GUEST}: deploy it there"):
        nodes[HOST].deploying.deploy(MODEL_ID, VERSION, None, None)


def test_withdrawing_removes_only_a_deployed_copy_of_that_model(nodes: dict[int, Node]) -> None:
    trained(nodes)
    host = nodes[HOST].deploying
    order = DeployOrder(
        PartyRole("host", HOST), MODEL_ID, VERSION, VERSION, {"components": {}}, withdraw=True
    )
    host.deploy_here(order)  # names the trained model itself: it is no copy, and stays
    assert nodes[HOST].part("host", VERSION)[0] is not None


def test_the_predict_dsl_of_a_trained_and_of_a_deployed_model(nodes: dict[int, Node]) -> None:
    trained(nodes)
    guest = nodes[GUEST].deploying
    _, dsl = guest.predict_dsl(MODEL_ID, VERSION, "", None)
    assert dsl == inference_dsl(dsl_v2(), CATALOG, 2)
    predict = generate_predict_dsl(dsl_v2(), ["data_transform_0", "hetero_lr_0"], 2)
    child = guest.deploy(MODEL_ID, VERSION, predict, None)["model_version"]
    part, dsl = nodes[HOST].deploying.predict_dsl(MODEL_ID, child, "host", HOST)
    assert (part.f_role, dsl) == ("host", predict)
    with pytest.raises(NotFound, match="no guest or host part"):
        nodes[HOST].deploying.predict_dsl(MODEL_ID, child, "arbiter", HOST)


def test_predict_conf_templates() -> None:
    dsl = {"components": {"reader_0": {"module": "Reader"}, "lr": {"module": "HeteroLR"}}}
    train = {
        "dsl_version": 2,
        "initiator": {"role": "guest", "party_id": GUEST},
        "role": {"guest": [GUEST], "host": [HOST, 10001], "arbiter": [HOST]},
        "job_parameters": {"common": {"task_cores": 2}},
    }
    table = {"name": "name_to_be_filled_0", "namespace": "namespace_to_be_filled_0"}
    assert predict_conf_template(dsl, train, MODEL_ID, VERSION) == {
        "dsl_version": 2,
        "initiator": train["initiator"],
        "role": train["role"],
        "job_parameters": {
            "common": {
                "task_cores": 2,
                "job_type": "predict",
                "model_id": MODEL_ID,
                "model_version": VERSION,
            }
        },
        "component_parameters": {
            "role": {
                "guest": {"0": {"reader_0": {"table": table}}},
                "host": {str(i): {"reader_0": {"table": table}} for i in range(2)},
            }
        },
    }
    train_v1 = {**train, "dsl_version": 1, "job_parameters": {"work_mode": 0}}
    conf = predict_conf_template(dsl, train_v1, MODEL_ID, VERSION)
    assert conf["job_parameters"] == {
        "work_mode": 0,
        "job_type": "predict",
        "model_id": MODEL_ID,
        "model_version": VERSION,
    }
    assert conf["role_parameters"] == {
        "guest": {"args": {"data": {"eval_data": [table]}}},
        "host": {
            "args": {
                "data": {
                    "eval_data": [
                        table,
                        {"name": "name_to_be_filled_1", "namespace": "namespace_to_be_filled_1"},
                    ]
                }
            }
        },
    }


def _checkpoint(node: Node, role: str, step: int, model: dict[str, Any]) -> None:
    directory = model_files.checkpoint_dir(
        node.data_dir, role, node.party_id, MODEL_ID, VERSION, "hetero_lr_0"
    )
    model_files.write_model(model_files.checkpoint_path(directory, step, "step_name"), model)


def test_components_checkpoint_deploys_a_checkpoint_in_place_of_the_model(
    nodes: dict[int, Node],
) -> None:
    trained(nodes)
    for step in (0, 1, 2):
        _checkpoint(nodes[GUEST], "guest", step, {"weight": [float(step)]})
        _checkpoint(nodes[HOST], "host", step, {"weight": [10.0 + step]})
    # The arbiter kept none: it deploys its model, as FATE's does.
    answer = nodes[GUEST].deploying.deploy(
        MODEL_ID, VERSION, None, None, {"hetero_lr_0": {"step_index": "1"}}
    )
    deployed = parts(nodes, answer["model_version"])
    assert deployed["guest", GUEST][1][("hetero_lr_0", "model")] == {"weight": [1.0]}
    assert deployed["host", HOST][1][("hetero_lr_0", "model")] == {"weight": [11.0]}
    assert deployed["arbiter", HOST][1] == {("hetero_lr_0", "model"): {"iterations": 3}}
    # The trained version keeps its final models.
    assert parts(nodes, VERSION)["guest", GUEST][1][("hetero_lr_0", "model")] == {
        "weight": [0.5, -0.25]
    }
    by_name = nodes[GUEST].deploying.deploy(
        MODEL_ID, VERSION, None, None, '{"hetero_lr_0": {"step_name": "step_name"}}'
    )
    assert parts(nodes, by_name["model_version"])["host", HOST][1][("hetero_lr_0", "model")] == {
        "weight": [12.0]
    }


@pytest.mark.parametrize(
    ("checkpoints", "error", "words"),
    [
        ({"hetero_lr_9": {"step_index": 1}}, InvalidArgument, "not a component"),
        ({"hetero_lr_0": {"step_index": "one"}}, InvalidArgument, "must be an integer"),
        ({"hetero_lr_0": {}}, InvalidArgument, "needs step_index or step_name"),
        ({"hetero_lr_0": {"step_index": 7}}, FailedPrecondition, "no checkpoint of hetero_lr_0"),
    ],
)
def test_a_checkpoint_that_is_not_there_fails_the_deploy_and_nothing_stays_deployed(
    nodes: dict[int, Node], checkpoints: dict[str, Any], error: type[Exception], words: str
) -> None:
    trained(nodes)
    _checkpoint(nodes[HOST], "host", 0, {"weight": [1.0]})
    with pytest.raises(error, match=words):
        nodes[GUEST].deploying.deploy(MODEL_ID, VERSION, None, None, checkpoints)
    for party_id, node in nodes.items():
        with node.database.session() as session:
            versions = {row.f_model_version for row in session.query(ModelInfo)}
        assert versions == {VERSION}, party_id
        assert {p.name for p in (node.data_dir / "models").glob("*/*")} == {VERSION}
