"""HomoLR: logistic regression on rows split between guest and hosts, averaged by the arbiter,
which only ever sees the sum of the clients' masked updates (`homo_lr.py`)."""

from __future__ import annotations

from typing import Any

from fateflow_grpc.components import homo_lr
from fateflow_grpc.components.context import Dataset, TaskContext
from fateflow_grpc.components.predictions import prediction_table
from fateflow_grpc.components.transport import Participants
from fateflow_grpc.domain.catalog import ModuleInfo
from fateflow_grpc.errors import InvalidArgument

#: The input kinds a learner reads, in the order it looks for its data.
TRAIN_KINDS = ("train_data", "data", "test_data", "eval_data")


def learner_input(context: TaskContext) -> tuple[Dataset, str]:
    """The dataset a learner fits or scores, and FATE's `type` for its predictions."""
    for kind in TRAIN_KINDS:
        tables = context.input_tables(kind)
        if tables:
            return Dataset.from_table(tables[0]), "train" if kind == "train_data" else "predict"
    raise InvalidArgument(f"{context.task.component_name} needs a train_data or data input")


def _validate(params: dict[str, Any]) -> dict[str, Any]:
    homo_lr.validate_parameters(params)
    return params


class HomoLR:
    info = ModuleInfo(
        name="HomoLR",
        roles=frozenset({"guest", "host", "arbiter"}),
        parameters=homo_lr.DEFAULTS,
        input_kinds=frozenset(TRAIN_KINDS) | {"validate_data"},
        validate=_validate,
    )

    def run(self, context: TaskContext) -> None:
        params = homo_lr.validate_parameters(context.parameters)
        parties = Participants.from_roles(context.roles)
        trained = context.input_models()
        if context.task.role == "arbiter":
            if trained:
                return  # scoring needs no aggregation
            losses = homo_lr.fit_arbiter(context.federation, params, parties)
            context.log_metric(
                "train",
                "loss",
                list(enumerate(losses)),
                {"name": "loss", "metric_type": "LOSS", "unit_name": "iters", "curve_name": "loss"},
            )
            context.save_summary({"loss_history": losses, "iters": len(losses)})
            context.save_model({"loss_history": losses})
            return
        data, kind = learner_input(context)
        if data.labels is None:
            raise InvalidArgument("HomoLR needs labelled data at every client: set with_label")
        if trained:
            (model,) = trained.values()
            predictions = homo_lr.predict(model, data.features, data.labels, header=data.header)
        else:
            fit = homo_lr.fit_guest if context.task.role == "guest" else homo_lr.fit_host
            model, predictions = fit(
                context.federation, data.features, data.labels, params, parties, header=data.header
            )
            context.save_model(model)
            context.save_summary({"iters": model["iters"], "is_converged": model["is_converged"]})
        context.save_output_data(
            prediction_table(
                data.ids, data.labels, predictions.predict_score, params.threshold, kind, data.sid
            )
        )
