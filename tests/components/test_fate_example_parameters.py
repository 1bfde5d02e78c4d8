"""Every parameter FATE's example jobs (1.5.3 and 1.11.4, `examples/dsl/v1`, `v2` and
`experiment_template`) give the feature, sampling and baseline modules is accepted, with the
values they give: the parameter sets below are theirs, module by module."""

from __future__ import annotations

from typing import Any

import pytest

from fateflow_grpc.components.registry import component
from tests.components.tasks import merged

EXAMPLES: list[tuple[str, dict[str, Any]]] = [
    (
        "ColumnExpand",
        {
            "append_header": ["x_0", "x_1", "x_2", "x_3"],
            "method": "manual",
            "fill_value": [0, 0.2, 0.5, 1],
            "need_run": True,
        },
    ),
    ("ColumnExpand", {"append_header": ["x_0", "x_1"], "fill_value": [0, 0.2]}),
    ("FeatureImputation", {"missing_fill_method": "designated", "default_value": 42}),
    ("FeatureImputation", {"missing_fill_method": "max"}),
    (
        "FeatureImputation",
        {
            "col_missing_fill_method": {"doctorco": "min", "hscore": "designated"},
            "default_value": 42,
            "missing_impute": [0],
        },
    ),
    (
        "FeatureScale",
        {
            "method": "min_max_scale",
            "mode": "normal",
            "feat_upper": [1, 2, 1, 1, 0.5, 1, 2, 2, 1, 1],
        },
    ),
    ("FeatureScale", {"method": "min_max_scale", "mode": "cap", "feat_upper": 1, "feat_lower": 0}),
    ("FeatureScale", {"method": "min_max_scale", "mode": "normal", "scale_names": ["x0"]}),
    ("FeatureScale", {"method": "standard_scale", "need_run": True}),
    ("FeatureScale", {}),
    (
        "FederatedSample",
        {"mode": "stratified", "method": "upsample", "fractions": [[0, 1.5], [1, 2.0]]},
    ),
    (
        "FederatedSample",
        {
            "mode": "stratified",
            "method": "downsample",
            "fractions": [[0, 0.5], [1, 0.8]],
            "need_run": True,
        },
    ),
    (
        "FederatedSample",
        {"mode": "stratified", "method": "downsample", "fractions": [[0, 0.15], [1, 1]]},
    ),
    ("FederatedSample", {"fractions": 0.9}),
    ("FederatedSample", {"mode": "exact_by_weight"}),
    ("HeteroDataSplit", {"test_size": 0.3, "stratified": True, "split_points": [0.0, 0.2]}),
    ("HeteroDataSplit", {"test_size": 0.3, "validate_size": 0.2, "stratified": False}),
    ("HomoDataSplit", {"test_size": 0.3, "validate_size": 0.2, "stratified": False}),
    ("HomoDataSplit", {"validate_size": 0.2, "stratified": True}),
    (
        "HomoOneHotEncoder",
        {
            "transform_col_indexes": [1, 2, 5, 6, 8, 10, 11, 12],
            "transform_col_names": [],
            "need_alignment": True,
        },
    ),
    ("HomoOneHotEncoder", {"transform_col_indexes": -1}),
    ("LabelTransform", {"label_encoder": {"0": 1, "1": 0}, "label_list": [0, 1]}),
    ("LabelTransform", {"label_encoder": {"0": 1, "1": 0}}),
    ("LabelTransform", {"need_run": False}),
    (
        "LocalBaseline",
        {
            "model_name": "LogisticRegression",
            "model_opts": {
                "penalty": "l2",
                "tol": 0.0001,
                "C": 1.0,
                "fit_intercept": True,
                "solver": "lbfgs",
                "max_iter": 5,
                "multi_class": "ovr",
            },
        },
    ),
    (
        "LocalBaseline",
        {
            "model_name": "LogisticRegression",
            "model_opts": {
                "penalty": "l2",
                "tol": 0.0001,
                "C": 1.0,
                "fit_intercept": True,
                "solver": "saga",
                "max_iter": 2,
            },
        },
    ),
    ("LocalBaseline", {"model_opts": {"max_iter": 2, "solver": "saga", "tol": 0.0001}}),
    ("LocalBaseline", {"model_name": "LogisticRegression", "model_opts": None}),
    ("OneHotEncoder", {"transform_col_indexes": -1, "transform_col_names": [], "need_run": True}),
    ("OneHotEncoder", {"transform_col_indexes": [0, 1, 2]}),
    ("OneHotEncoder", {"transform_col_names": None}),
    ("SampleWeight", {"class_weight": "balanced", "need_run": True}),
    ("SampleWeight", {"class_weight": {"0": 1, "1": 2}}),
    ("SampleWeight", {"sample_weight_name": "x0"}),
    ("SampleWeight", {"sample_weight_name": "pm"}),
    ("Union", {"allow_missing": False, "need_run": True}),
    ("Union", {"keep_duplicate": True}),
]


@pytest.mark.parametrize(("module", "params"), EXAMPLES)
def test_fates_example_parameters_are_accepted(module: str, params: dict[str, Any]) -> None:
    info = component(module).info
    validate = info.validate
    assert validate is not None
    validate(merged(info.parameters, params))
