"""FATE's usual feature pipeline on `fateflow standalone`, FATE's `default_credit` tables (30,000
rows, 13 guest and 10 host columns): Reader -> DataTransform -> Intersection (RSA) ->
FeatureScale -> HeteroFeatureBinning (10 quantile bins, IV, 1024-bit Paillier) ->
HeteroFeatureSelection (IV >= 0.02, top 12) -> HeteroLR (3 iterations, 1024-bit) -> Evaluation,
then the predict job of the same chain.

    python bench/feature_pipeline.py [--guest TABLE.csv --host TABLE.csv]

The job is the one `tests/standalone/test_feature_pipeline.py` checks. Floor measured in the same
run: the same pipeline in the clear with numpy on the joined table (min-max scaling, quantile
binning and IV of every column, the selection, three iterations of the same logistic regression,
the AUC), per step and in all. Prints each component's time at the guest beside its floor, the
jobs' wall times and the ratios, and ends with one JSON line. Never fails on a timing.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import roc_auc_score

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fateflow_grpc.components.feature import binning
from fateflow_grpc.components.sdk.context import Dataset
from tests.components.datasets import read_csv
from tests.components.linear.test_hetero_lr import plaintext_lr
from tests.data import fate_data_dir
from tests.standalone import test_feature_pipeline as pipeline
from tests.standalone.process import run_standalone

IV_THRESHOLD, TOP_K = 0.02, 12
#: The components the clear floor has a step for, and the name of that step.
STEPS = {
    "feature_scale_0": "scale",
    "hetero_feature_binning_0": "binning",
    "hetero_feature_selection_0": "selection",
    "hetero_lr_0": "lr",
    "evaluation_0": "evaluation",
}


def floor(guest: Dataset, host: Dataset) -> dict[str, float]:
    """Seconds per step of the same pipeline in the clear on the joined table."""
    assert guest.labels is not None
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    position = {s: r for r, s in enumerate(host.ids.tolist())}
    x = np.hstack([guest.features, host.features[[position[s] for s in guest.ids.tolist()]]])
    labels = guest.labels
    seconds["join"] = time.perf_counter() - started

    started = time.perf_counter()
    low, high = x.min(axis=0), x.max(axis=0)
    x = (x - low) / np.where(high > low, high - low, 1.0)
    seconds["scale"] = time.perf_counter() - started

    started = time.perf_counter()
    onehot = binning.onehot_labels(labels, binning.label_classes(labels))
    bins = np.empty_like(x)
    ivs = []
    for j in range(x.shape[1]):
        points = binning.quantile_points(x[:, j], pipeline.BIN_NUM, pipeline.ERROR)
        bins[:, j] = binning.bin_indexes(x[:, j], points)
        counts = binning.label_counts(bins[:, j].astype(np.int64), onehot)
        ivs.append(binning.woe_iv(counts[:, 0], counts[:, 1], pipeline.ADJUSTMENT)["iv"])
    seconds["binning"] = time.perf_counter() - started

    started = time.perf_counter()
    passed = [j for j, iv in enumerate(ivs) if iv >= IV_THRESHOLD]
    kept = sorted(sorted(passed, key=lambda j: ivs[j], reverse=True)[:TOP_K])
    selected = bins[:, kept]
    seconds["selection"] = time.perf_counter() - started

    started = time.perf_counter()
    initial = np.zeros(len(kept) + 1)
    initial[-1] = np.log(np.sum(labels == 1) / np.sum(labels != 1))
    params = {**pipeline.LR, "init_param": {"init_method": "zeros", "fit_intercept": True}}
    fitted = plaintext_lr(selected, labels, params, [np.arange(len(labels))], initial=initial)
    scores = 1 / (1 + np.exp(-(selected @ fitted.weights[:-1] + fitted.weights[-1])))
    seconds["lr"] = time.perf_counter() - started

    started = time.perf_counter()
    roc_auc_score(labels, scores)
    seconds["evaluation"] = time.perf_counter() - started
    return seconds


def task_seconds(standalone: Any, job_id: str) -> dict[str, float]:
    """Each component's elapsed time at the guest, as the node recorded it, in the DSL's order."""
    answer = standalone.post("job/task/query", {"job_id": job_id, "role": "guest"})
    found = {row["f_component_name"]: int(row["f_elapsed"]) / 1000 for row in answer["data"]}
    return {name: found[name] for name in pipeline.DSL["components"] if name in found}


def main() -> None:
    parser = argparse.ArgumentParser()
    found = fate_data_dir()
    parser.add_argument(
        "--guest", type=Path, default=found and found / "default_credit_hetero_guest.csv"
    )
    parser.add_argument(
        "--host", type=Path, default=found and found / "default_credit_hetero_host.csv"
    )
    args = parser.parse_args()
    if args.guest is None or args.host is None:
        raise SystemExit("FATE's default_credit tables are not here: give --guest and --host")
    guest, host = read_csv(args.guest), read_csv(args.host, label=None)
    load_start = os.getloadavg()[0]
    clear = floor(guest, host)
    with (
        tempfile.TemporaryDirectory() as tmp,
        run_standalone(Path(tmp), (pipeline.GUEST, pipeline.HOST)) as standalone,
    ):
        started = time.perf_counter()
        pipeline.upload(standalone, args.guest)
        pipeline.upload(standalone, args.host)
        upload_s = time.perf_counter() - started
        conf = pipeline.runtime_conf(args.guest.stem, args.host.stem, IV_THRESHOLD, TOP_K)
        started = time.perf_counter()
        job_id = pipeline.run_job(standalone, pipeline.DSL, conf)
        train_s = time.perf_counter() - started
        tasks = task_seconds(standalone, job_id)
        trained = pipeline.output(standalone, job_id, "hetero_lr_0", "guest")

        predict_dsl, predict_conf = pipeline.predict_job(standalone, job_id, conf)
        started = time.perf_counter()
        predict_id = pipeline.run_job(standalone, predict_dsl, predict_conf)
        predict_s = time.perf_counter() - started
        predicted = pipeline.output(standalone, predict_id, "hetero_lr_0", "guest")
        ids = sorted(trained.rows)
        gap = float(
            np.max(
                np.abs(
                    trained.column("predict_score", ids) - predicted.column("predict_score", ids)
                )
            )
        )
    clear_total = sum(clear.values())
    print(
        f"default_credit: {len(guest.ids)} rows, {len(guest.header)} + {len(host.header)} columns"
    )
    print(f"{'component (guest)':30} {'federated s':>12} {'clear s':>9} {'ratio':>8}")
    components: dict[str, Any] = {}
    for name, seconds in tasks.items():
        step = STEPS.get(name)
        plain = clear.get(step) if step else None
        ratio = seconds / plain if plain else None
        print(
            f"{name:30} {seconds:12.2f} "
            + (f"{plain:9.4f} {ratio:8.0f}" if plain and ratio else f"{'':9} {'':8}")
        )
        components[name] = {
            "seconds": round(seconds, 3),
            "clear_s": round(plain, 5) if plain else None,
            "ratio": round(ratio, 1) if ratio else None,
        }
    print(
        f"{'training job, submit to success':30} {train_s:12.2f} {clear_total:9.4f} "
        f"{train_s / clear_total:8.0f}"
    )
    print(f"{'predict job, submit to success':30} {predict_s:12.2f}")
    print(f"upload of both tables {upload_s:.2f} s; predict scores within {gap:.1e} of training's")
    load_end = os.getloadavg()[0]
    print(f"load average {load_start:.1f} at the start, {load_end:.1f} at the end")
    print(
        json.dumps(
            {
                "bench": "feature_pipeline",
                "rows": len(guest.ids),
                "guest_cols": len(guest.header),
                "host_cols": len(host.header),
                "key_length": 1024,
                "train_s": round(train_s, 2),
                "predict_s": round(predict_s, 2),
                "upload_s": round(upload_s, 2),
                "clear_s": round(clear_total, 4),
                "ratio": round(train_s / clear_total, 1),
                "components": components,
                "predict_max_score_gap": gap,
                "load_average": [round(load_start, 1), round(load_end, 1)],
            }
        )
    )


if __name__ == "__main__":
    main()
