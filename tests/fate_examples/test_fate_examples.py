"""FATE's own example jobs, read from FATE's repository and submitted unchanged to a standalone.

A few of them, one or two per family we have, run here; `tools/fate_examples.py` runs them all
and writes the table of `docs/fate-compatibility.md`. FATE's repository is read from a bare git
mirror (`$FATEFLOW_FATE_MIRROR`, default /work/.mirror/FederatedAI+FATE/repo): without it, or
without FATE's example tables, these tests skip.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest

from tests.data import EXAMPLES, fate_data_dir
from tests.standalone.process import run_standalone
from tools import fate_examples
from tools.fate_examples import Example, Result

MIRROR = Path(os.environ.get("FATEFLOW_FATE_MIRROR", fate_examples.MIRROR))

#: (FATE release, testsuite directory/job name): for each, the metrics FATE reports at the guest,
#: as {component: {namespace: [names it must hold]}} (Evaluation's are named after the model it
#: evaluates; FATE's binning and DataTransform report none).
SUBSET: dict[tuple[str, str], dict[str, dict[str, list[str]]]] = {
    # HeteroLR, Evaluation, Intersection, FeatureScale, binning, selection, OneHotEncoder.
    ("v1.5.3", "examples/dsl/v1/hetero_logistic_regression/lr_feature_engineering"): {
        "intersection_0": {"train": ["intersection"]},
        "evaluation_0": {"train": ["hetero_lr_0", "hetero_lr_0_ks_fpr", "hetero_lr_0_roc"]},
    },
    # HomoLR, a validate DataIO with the training one's model, two Evaluations.
    ("v1.5.3", "examples/dsl/v1/homo_logistic_regression/evaluate"): {
        "evaluation_0": {"train": ["homo_lr_0"]},
        "evaluation_1": {"predict": ["homo_lr_1"]},
    },
    ("v1.11.4", "examples/dsl/v2/intersect/rsa_intersect"): {
        "intersect_0": {"train": ["intersection"]},
    },
    ("v1.11.4", "examples/dsl/v2/data_transform/data_transform_dense"): {},
    ("v1.11.4", "examples/dsl/v2/hetero_feature_binning/hetero_binning_bucket_binning"): {
        "intersection_0": {"train": ["intersection"]},
    },
    # A DSL v1 predict job is a conf alone: it runs its model's inference DSL (FATE 1.x).
    ("v1.5.3", "examples/dsl/v1/hetero_secureboost/train_binary"): {},
    ("v1.5.3", "examples/dsl/v1/hetero_secureboost/train_binary_predict"): {},
    # An Evaluation at every party, on HeteroSecureBoost's data, which the hosts do not have.
    # FATE reports the evaluation of the training data too ("train"); here only "validate".
    ("v1.11.4", "examples/dsl/v2/hetero_secureboost/train_binary"): {
        "hetero_secure_boost_0": {"train": ["loss"]},
        "evaluation_0": {"validate": ["hetero_secure_boost_0", "hetero_secure_boost_0_roc"]},
    },
    # A DSL v2 predict job: FATE's test tool deploys the model (`model/deploy`) with the
    # example's predict DSL, then submits the conf; the deployed model's DSL runs.
    ("v1.11.4", "examples/dsl/v2/hetero_secureboost/train_binary_predict"): {},
}


@pytest.fixture(scope="module")
def examples() -> list[Example]:
    if not (MIRROR / "HEAD").is_file():
        pytest.skip(f"no mirror of FATE's repository at {MIRROR} (FATEFLOW_FATE_MIRROR)")
    if fate_data_dir() is None:
        pytest.skip("FATE's example tables are not here (FATEFLOW_FATE_DATA)")
    chosen = []
    for version in sorted({version for version, _ in SUBSET}):
        chosen += [
            e for e in fate_examples.load_examples(MIRROR, version) if (version, e.key) in SUBSET
        ]
    assert {(e.version, e.key) for e in chosen} == set(SUBSET), "FATE's examples moved"
    return chosen


def _run(tmp_path: Path, examples: list[Example]) -> list[Result]:
    data = fate_data_dir()
    assert data is not None
    parties = tuple(sorted(set().union(*(e.parties() for e in examples))))
    with run_standalone(tmp_path, parties) as standalone:
        return asyncio.run(
            fate_examples.run_all(
                standalone.http, examples, [EXAMPLES, data], concurrency=2, timeout=240
            )
        )


@pytest.mark.slow
def test_fate_examples_of_our_families_run_unchanged(
    tmp_path: Path, examples: list[Example]
) -> None:
    results = _run(tmp_path, examples)
    failures = [
        f"{r.version} {r.key}: {r.outcome} {r.component} {r.detail}"
        for r in results
        if r.outcome != "success"
    ]
    assert not failures, "\n".join(failures)
    for result in results:
        for component, namespaces in SUBSET[(result.version, result.key)].items():
            reported = result.metrics.get(component, {})
            for namespace, names in namespaces.items():
                missing = set(names) - set(reported.get(namespace, []))
                assert not missing, (
                    f"{result.key}: {component} reports no {namespace}/{sorted(missing)}; "
                    f"it reports {reported}"
                )


def test_the_table_counts_jobs_and_groups_refusals_by_reason() -> None:
    def row(name: str, modules: list[str], outcome: str, detail: str = "") -> dict[str, Any]:
        ours = outcome != "module missing"
        return {
            **dict.fromkeys(("component", "job_id"), ""),
            "version": "v1.11.4",
            "dsl_version": 2,
            "suite": "examples/dsl/v2/lr",
            "name": name,
            "modules": modules,
            "ours": ours,
            "outcome": outcome,
            "detail": detail,
            "elapsed": 1.0,
            "metrics": {},
        }

    refusal = (
        "hetero_lr_{} (HeteroLR) at host 10000: HeteroLR parameter optimizer sqn is not "
        "offered: why, not 'sqn'"
    )
    rows = [
        row("a", ["HeteroLR"], "success"),
        row("b", ["HeteroLR"], "refused", refusal.format(0)),
        row("c", ["HeteroLR"], "refused", refusal.format(1)),
        row("d", ["HeteroNN"], "module missing", "HeteroNN"),
    ]
    section = fate_examples.markdown(rows, "python tools/fate_examples.py --markdown x.json")
    assert "| 4 | 3 | 1 | 2 | 0 | 0 | 0 | 0 | 1 |" in section
    assert (
        "| parameter | optimizer sqn, refused on purpose: FATE's quasi-Newton Hessian needs the "
        "arbiter to hold the gradients and the weights in the clear; components/linear | 2 | "
        "refused 2 | … (HeteroLR) at host: HeteroLR parameter optimizer sqn is not offered: "
        "why, not 'sqn' (2) |"
    ) in section
    assert "Modules missing (jobs naming each): HeteroNN 1." in section
    document = "# T\n\n## A\n\na\n\n" + fate_examples.SECTION + "\n\nstale\n\n## B\n\nb\n"
    replaced = fate_examples.replace_section(document, section)
    assert "stale" not in replaced and replaced.startswith("# T\n\n## A\n\na\n\n")
    assert replaced.endswith("\n## B\n\nb\n") and section in replaced
