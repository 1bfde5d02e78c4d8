"""Datasets for component tests: the breast cancer example tables as `Dataset`s, and small ones
made on the spot."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from fateflow_grpc.components.sdk.context import Dataset
from tests.data import EXAMPLES


def read_csv(path: Path, *, label: str | None = "y") -> Dataset:
    """A dense CSV (id first) as DataTransform would read it, `label` taken out if given."""
    with path.open() as file:
        rows = list(csv.reader(file))
    sid, *columns = rows[0]
    header = [c for c in columns if c != label]
    body = np.array([[float(v) for v in row[1:]] for row in rows[1:]])
    positions = [columns.index(c) for c in header]
    return Dataset(
        ids=np.array([row[0] for row in rows[1:]], dtype=object),
        features=body[:, positions] if header else np.zeros((len(body), 0)),
        labels=body[:, columns.index(label)] if label in columns else None,
        header=header,
        sid=sid,
        label_name=label or "y",
    )


def breast(name: str) -> Dataset:
    """`breast_hetero_guest`, `breast_hetero_host`, `breast_homo_guest`, `breast_homo_host`."""
    return read_csv(EXAMPLES / f"{name}.csv", label=None if name.endswith("hetero_host") else "y")


def small(
    features: list[list[float]],
    labels: list[float] | None = None,
    *,
    header: list[str] | None = None,
    ids: list[str] | None = None,
) -> Dataset:
    matrix = np.array(features, dtype=np.float64).reshape(len(features), -1)
    return Dataset(
        ids=np.array(ids or [str(k) for k in range(len(matrix))], dtype=object),
        features=matrix,
        labels=None if labels is None else np.array(labels, dtype=np.float64),
        header=header or [f"x{k}" for k in range(matrix.shape[1])],
    )
