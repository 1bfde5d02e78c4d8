"""FATE's ModelCheckpoint callback (FATE 1.7+, `callback_param.callbacks` holding
`ModelCheckpoint`): a learner keeps its model as it is after every `save_freq`-th epoch, so
that a later job can go on from it (ModelLoader's `step_index` / `step_name`, then a warm
start) when this one was interrupted or went on too long.

    checkpoints = Checkpoints.of(reader, context.save_checkpoint)
    for epoch in range(epochs):
        ...                                            # train one epoch
        checkpoints.epoch_end(epoch, lambda: model_now())

As FATE's: the step index is the epoch (from 0), saved when `epoch % save_freq == 0`, the step
name FATE's default, `step_name`, and each party keeps its own part of the model (the arbiter
too). The model is the component's model output as it would be had training ended after that
epoch, so a warm start from it goes on from there. Cross validation's folds keep none.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fateflow_grpc.components.sdk.parameters import ParamReader

#: The step name of every checkpoint: FATE's `ModelBase.step_name`, which no model of FATE's
#: 1.x sets otherwise.
STEP_NAME = "step_name"

Save = Callable[[int, str, dict[str, Any]], None]
#: What a learner calls at the end of an epoch: the epoch, and how to make its model now.
EpochEnd = Callable[[int, Callable[[], dict[str, Any]]], None]


@dataclass(frozen=True)
class Checkpoints:
    #: Every n-th epoch is kept; None: ModelCheckpoint is off.
    save_freq: int | None = None
    save: Save | None = None

    @classmethod
    def of(cls, reader: ParamReader, save: Save | None) -> Checkpoints:
        """The callback a module's section asks for (`read_save_freq`), saving with `save`."""
        return cls(read_save_freq(reader), save)

    def epoch_end(
        self, epoch: int, model: Callable[[], dict[str, Any]], step_name: str = STEP_NAME
    ) -> None:
        if self.save_freq is not None and self.save is not None and epoch % self.save_freq == 0:
            self.save(epoch, step_name, model())

    def of_class(self, index: int) -> EpochEnd:
        """The callback of the `index`-th model of a one-vs-rest: its checkpoints are its
        binary model, step name `model_<index>` (FATE's name of that model), so that they do
        not overwrite one another's as FATE's do."""
        return lambda epoch, model: self.epoch_end(epoch, model, f"model_{index}")


def read_save_freq(reader: ParamReader) -> int | None:
    """`callback_param.save_freq` (an int >= 1, or FATE's "epoch": 1) when `callbacks` holds
    ModelCheckpoint, else None."""
    if not (reader.knows("callback_param") and reader.changed("callback_param")):
        return None
    section = reader.section("callback_param")
    callbacks = section.raw("callbacks")
    if not isinstance(callbacks, list) or "ModelCheckpoint" not in callbacks:
        return None
    if section.raw("save_freq") == "epoch":
        return 1
    return section.integer("save_freq", minimum=1)


#: No checkpoints: ModelCheckpoint off, and cross validation's folds.
NO_CHECKPOINTS = Checkpoints()
