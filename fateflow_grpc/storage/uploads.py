"""Upload history (``t_upload_history``): a row per upload job, for FATE's upload history."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from fateflow_grpc.status import JobStatus
from fateflow_grpc.storage.models import UploadHistory


def add_upload(session: Session, upload: UploadHistory) -> None:
    session.add(upload)
    session.flush()


def finish_upload(
    session: Session, job_id: str, status: JobStatus, upload_count: int | None
) -> bool:
    """Record how the upload ended and how many rows it stored (None: it failed); False if
    there is no such row."""
    upload = session.get(UploadHistory, job_id)
    if upload is None:
        return False
    upload.f_status = status
    upload.f_upload_count = upload_count
    return True


def list_uploads(
    session: Session,
    *,
    job_id: str | None = None,
    status: JobStatus | None = None,
    limit: int | None = None,
) -> list[UploadHistory]:
    """Uploads newest first, optionally only one job's or only those with ``status``."""
    statement = select(UploadHistory).order_by(
        UploadHistory.f_create_time.desc(), UploadHistory.f_job_id.desc()
    )
    if job_id is not None:
        statement = statement.where(UploadHistory.f_job_id == job_id)
    if status is not None:
        statement = statement.where(UploadHistory.f_status == status)
    return list(session.scalars(statement.limit(limit)))
