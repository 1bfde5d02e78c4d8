"""HeteroLR: logistic regression over features split between guest (with the labels) and
hosts, the arbiter holding the Paillier key (`hetero_lr.py` runs FATE's protocol)."""

from __future__ import annotations

from typing import Any

from fateflow_grpc.components import hetero_lr
from fateflow_grpc.components.context import TaskContext
from fateflow_grpc.components.homo_lr_component import TRAIN_KINDS, learner_input
from fateflow_grpc.components.predictions import prediction_table
from fateflow_grpc.components.transport import Participants
from fateflow_grpc.domain.catalog import ModuleInfo
from fateflow_grpc.errors import InvalidArgument

#: FATE's meta of the arbiter's `train`/`loss` metric: one point (iteration, loss) per iteration.
LOSS_META = {"name": "loss", "metric_type": "LOSS", "unit_name": "iters", "curve_name": "loss"}


class HeteroLR:
    info = ModuleInfo(
        name="HeteroLR",
        roles=frozenset({"guest", "host", "arbiter"}),
        parameters=hetero_lr.DEFAULTS,
        input_kinds=frozenset(TRAIN_KINDS) | {"validate_data"},
        validate=lambda params: hetero_lr.validate_parameters(params),
    )

    def run(self, context: TaskContext) -> None:
        params = hetero_lr.validate_parameters(context.parameters)
        parties = Participants.from_roles(context.roles)
        trained = context.input_models()
        model: dict[str, Any] | None = next(iter(trained.values()), None)
        role = context.task.role
        timings = hetero_lr.Timings()
        if role == "arbiter":
            if model is not None:
                return  # scoring needs no key

            def on_loss(iteration: int, loss: float) -> None:
                # Recorded as it comes, as FATE does: watchers see the training advance.
                context.log_metric("train", "loss", [(iteration, loss)], LOSS_META)
                context.log.info("iteration %s: loss %.6f", iteration, loss)

            model = hetero_lr.fit_arbiter(
                context.federation, params, parties, on_loss=on_loss, timings=timings
            )
            self._save(context, model, timings)
            return
        data, kind = learner_input(context)
        ids = data.ids.tolist()
        if role == "host":
            if model is not None:
                hetero_lr.predict_host(
                    context.federation, data.features, model, parties, ids=ids, header=data.header
                )
            else:
                model = hetero_lr.fit_host(
                    context.federation,
                    data.features,
                    params,
                    parties,
                    ids=ids,
                    header=data.header,
                    timings=timings,
                )
                self._save(context, model, timings)
            return
        if data.labels is None:
            raise InvalidArgument("HeteroLR needs the labels at the guest: set with_label there")
        if model is not None:
            predictions = hetero_lr.predict_guest(
                context.federation,
                data.features,
                model,
                parties,
                ids=ids,
                header=data.header,
                labels=data.labels,
            )
        else:
            model, predictions = hetero_lr.fit_guest(
                context.federation,
                data.features,
                data.labels,
                params,
                parties,
                ids=ids,
                header=data.header,
                timings=timings,
            )
            self._save(context, model, timings)
        context.log.info("%s rows scored (threshold %s)", len(ids), predictions.threshold)
        context.save_output_data(
            prediction_table(
                data.ids,
                predictions.labels,
                predictions.scores,
                predictions.threshold,
                kind,
                data.sid,
            )
        )

    @staticmethod
    def _save(context: TaskContext, model: dict[str, Any], timings: hetero_lr.Timings) -> None:
        context.save_model(model)
        param = model.get("param", model)
        context.log.info(
            "trained: %s iterations, converged: %s", param.get("iters"), param.get("is_converged")
        )
        context.save_summary(
            {
                "iters": param.get("iters"),
                "is_converged": param.get("is_converged"),
                "loss_history": param.get("loss_history", []),
                # Where this party's time went, for bench/hetero_lr.py.
                "seconds": timings.seconds,
                "iteration_seconds": timings.iteration_seconds,
            }
        )
