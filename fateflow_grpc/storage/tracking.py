"""What components report while they run: metrics, output data tables and summaries."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple, cast

from sqlalchemy import ColumnElement, CursorResult, delete, insert, select
from sqlalchemy.orm import Session

from fateflow_grpc.storage.models import (
    ComponentSummary,
    MetricKind,
    OutputDataInfo,
    TrackingMetric,
    now_ms,
)


class ComponentRef(NamedTuple):
    """One party's view of one component of a job."""

    job_id: str
    component_name: str
    role: str
    party_id: str


@dataclass
class Metric:
    """A metric as FATE returns it: its points sorted by key, and its meta."""

    data: list[tuple[Any, Any]] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)


# --- metrics -----------------------------------------------------------------------------------


def save_metric_data(
    session: Session,
    ref: ComponentRef,
    *,
    task_id: str,
    task_version: int,
    namespace: str,
    name: str,
    points: Iterable[tuple[Any, Any]],
) -> None:
    """Append data points ``(key, value)``; both must be JSON-serialisable."""
    _save_metric_rows(session, ref, task_id, task_version, namespace, name, MetricKind.DATA, points)


def save_metric_meta(
    session: Session,
    ref: ComponentRef,
    *,
    task_id: str,
    task_version: int,
    namespace: str,
    name: str,
    meta: Mapping[str, Any],
) -> None:
    """Add meta items; an item saved again replaces the earlier one when read."""
    _save_metric_rows(
        session, ref, task_id, task_version, namespace, name, MetricKind.META, meta.items()
    )


def read_component_metrics(session: Session, ref: ComponentRef) -> dict[str, dict[str, Metric]]:
    """Every metric of the component: ``{namespace: {name: Metric}}``."""
    return _read_metrics(session, _metric_conditions(ref))


def read_metric(session: Session, ref: ComponentRef, namespace: str, name: str) -> Metric | None:
    conditions = [
        *_metric_conditions(ref),
        TrackingMetric.f_metric_namespace == namespace,
        TrackingMetric.f_metric_name == name,
    ]
    return _read_metrics(session, conditions).get(namespace, {}).get(name)


def list_metric_names(session: Session, ref: ComponentRef) -> dict[str, list[str]]:
    """The component's metric names by namespace: ``{namespace: [name, ...]}``, sorted."""
    statement = (
        select(TrackingMetric.f_metric_namespace, TrackingMetric.f_metric_name)
        .where(*_metric_conditions(ref))
        .distinct()
        .order_by(TrackingMetric.f_metric_namespace, TrackingMetric.f_metric_name)
    )
    names: dict[str, list[str]] = {}
    for namespace, name in session.execute(statement):
        names.setdefault(namespace, []).append(name)
    return names


def delete_job_metrics(session: Session, job_id: str) -> int:
    """Delete every metric row of the job; returns how many rows went."""
    return _delete_metrics(session, TrackingMetric.f_job_id == job_id)


def delete_day_metrics(session: Session, day: str) -> int:
    """Delete the metrics of every job created on ``day`` (``YYYYMMDD``, how job ids begin).

    FATE drops its ``t_tracking_metric_<day>`` shard for this; returns how many rows went.
    """
    return _delete_metrics(session, TrackingMetric.f_job_id.startswith(day, autoescape=True))


def _delete_metrics(session: Session, condition: ColumnElement[bool]) -> int:
    statement = delete(TrackingMetric).where(condition)
    result = session.execute(statement, execution_options={"synchronize_session": False})
    return cast(CursorResult[Any], result).rowcount


def _save_metric_rows(
    session: Session,
    ref: ComponentRef,
    task_id: str,
    task_version: int,
    namespace: str,
    name: str,
    kind: MetricKind,
    items: Iterable[tuple[Any, Any]],
) -> None:
    now = now_ms()
    rows = [
        {
            "f_job_id": ref.job_id,
            "f_component_name": ref.component_name,
            "f_task_id": task_id,
            "f_task_version": task_version,
            "f_role": ref.role,
            "f_party_id": ref.party_id,
            "f_metric_namespace": namespace,
            "f_metric_name": name,
            "f_type": kind,
            "f_key": key,
            "f_value": value,
            "f_create_time": now,
        }
        for key, value in items
    ]
    if rows:  # an executemany with no rows is an error on some drivers
        session.execute(insert(TrackingMetric), rows)


def _metric_conditions(ref: ComponentRef) -> list[ColumnElement[bool]]:
    return [
        TrackingMetric.f_job_id == ref.job_id,
        TrackingMetric.f_component_name == ref.component_name,
        TrackingMetric.f_role == ref.role,
        TrackingMetric.f_party_id == ref.party_id,
    ]


def _read_metrics(
    session: Session, conditions: list[ColumnElement[bool]]
) -> dict[str, dict[str, Metric]]:
    # Rows in insertion order, so a meta item saved later wins.
    rows = session.scalars(select(TrackingMetric).where(*conditions).order_by(TrackingMetric.f_id))
    metrics: dict[str, dict[str, Metric]] = {}
    for row in rows:
        metric = metrics.setdefault(row.f_metric_namespace, {}).setdefault(
            row.f_metric_name, Metric()
        )
        if row.f_type is MetricKind.DATA:
            metric.data.append((row.f_key, row.f_value))
        else:
            metric.meta[row.f_key] = row.f_value
    for by_name in metrics.values():
        for metric in by_name.values():
            metric.data.sort(key=_point_order)
    return metrics


def _point_order(point: tuple[Any, Any]) -> tuple[bool, Any]:
    # FATE sorts points by key; numbers before strings keeps a mixed-key metric readable
    # instead of raising TypeError.
    return isinstance(point[0], str), point[0]


# --- output data info --------------------------------------------------------------------------


def save_output_data_info(session: Session, info: OutputDataInfo) -> None:
    """Record the table behind a data output; a retried task's record updates the earlier one."""
    session.merge(info)


def list_output_data_info(
    session: Session,
    job_id: str,
    *,
    component_name: str | None = None,
    role: str | None = None,
    party_id: str | None = None,
) -> list[OutputDataInfo]:
    """A job's output tables, optionally narrowed to one component, role or party."""
    statement = select(OutputDataInfo).where(OutputDataInfo.f_job_id == job_id)
    if component_name is not None:
        statement = statement.where(OutputDataInfo.f_component_name == component_name)
    if role is not None:
        statement = statement.where(OutputDataInfo.f_role == role)
    if party_id is not None:
        statement = statement.where(OutputDataInfo.f_party_id == party_id)
    statement = statement.order_by(
        OutputDataInfo.f_create_time, OutputDataInfo.f_task_id, OutputDataInfo.f_data_name
    )
    return list(session.scalars(statement))


def delete_output_data_info(session: Session, rows: Iterable[OutputDataInfo]) -> None:
    """Forget the output tables `rows` name (their tables are the caller's to delete)."""
    for row in rows:
        session.delete(session.merge(row))


# --- component summary -------------------------------------------------------------------------


def save_component_summary(
    session: Session, ref: ComponentRef, *, task_id: str, task_version: int, summary: dict[str, Any]
) -> None:
    """Insert or replace the summary of one run of the component."""
    session.merge(
        ComponentSummary(
            f_job_id=ref.job_id,
            f_component_name=ref.component_name,
            f_role=ref.role,
            f_party_id=ref.party_id,
            f_task_id=task_id,
            f_task_version=task_version,
            f_summary=summary,
        )
    )


def get_component_summary(session: Session, ref: ComponentRef) -> dict[str, Any] | None:
    """The summary of the component's latest run, or None."""
    statement = (
        select(ComponentSummary.f_summary)
        .where(
            ComponentSummary.f_job_id == ref.job_id,
            ComponentSummary.f_component_name == ref.component_name,
            ComponentSummary.f_role == ref.role,
            ComponentSummary.f_party_id == ref.party_id,
        )
        .order_by(ComponentSummary.f_task_version.desc())
        .limit(1)
    )
    return session.scalars(statement).first()
