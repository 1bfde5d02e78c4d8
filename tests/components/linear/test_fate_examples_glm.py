"""Every HeteroLinR and HeteroPoisson parameter set of FATE's own example confs (releases
1.5.3 to 1.11.4, read from a git mirror of FATE; skipped when absent), each party's as its conf
resolves them: accepted, or refused naming a feature that is not here (sqn; stepwise selection
together with validation, cross validation or ModelCheckpoint)."""

from __future__ import annotations

import pytest

from fateflow_grpc.components.linear import hetero_linr, hetero_poisson
from fateflow_grpc.errors import InvalidArgument
from tests.components.io import test_fate_examples_io as examples

#: What a refusal may name: the features not implemented here.
REFUSABLE = {"optimizer", "stepwise_param.need_stepwise"}


@pytest.mark.parametrize("tag", examples.TAGS)
def test_fates_example_parameters(tag: str, monkeypatch: pytest.MonkeyPatch) -> None:
    repository = examples._repository()
    monkeypatch.setattr(
        examples,
        "MODULES",
        {"hetero_linr_": hetero_linr, "hetero_poisson_": hetero_poisson},
    )
    seen = 0
    for path, conf in examples._confs(repository, tag):
        for component, module, values in examples._parameter_sets(conf):
            if "sshe" in path:
                continue  # FATE's SSHE examples name their components hetero_linr_ too
            merged = {**module.DEFAULTS, **values}
            seen += 1
            try:
                module.validate_parameters(merged)
            except InvalidArgument as error:
                where = f"{tag}:{path} {component}: {error.message}"
                assert error.metadata.get("parameter") in REFUSABLE, where
                if error.metadata["parameter"] == "optimizer":
                    assert str(values.get("optimizer")).lower() == "sqn", where
    assert seen > 10
