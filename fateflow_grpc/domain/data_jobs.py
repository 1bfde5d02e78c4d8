"""Upload, download and table deletion: FATE's data jobs.

As in FATE 1.5, an upload or a download is a local job: one job row (role `local`, party
"0", so `/v1/job/query -r local -p 0` finds it) with one task (`upload_0`, module `Upload`;
`download_0`, module `Download`), moved waiting -> running -> success or failed by the
compare-and-set transitions, plus an upload history row. The rows are written before the
first byte is read, and a node that restarts fails the data jobs it finds unfinished.

When the answer comes: FATE 1.5 answers an upload once the file is saved on its disk and
loads it afterwards in a task. Here the file is parsed as its bytes arrive, in one pass with
no copy on disk, and the answer comes when the table is published: the job has then ended
`success`, and a file that cannot be loaded is refused in the answer itself (naming the line
at fault), its job `failed`, nothing of it left in the table store. The table store may keep
its meta rows in a database of its own (shared by several nodes), so the table is published
in one unit of work and the job ends in the next.

Files on the node's own disk (an upload's `file` with `use_local_data` 0, a download's
`output_path`) must lie under one of the node's `server_file_dirs` once symlinks are
resolved, so a request cannot read or write anywhere else.
"""

from __future__ import annotations

import ast
import json
import logging
import os
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from fateflow_grpc.errors import (
    AlreadyExists,
    FateFlowError,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    RetCode,
)
from fateflow_grpc.ids import check_table_name, new_job_id
from fateflow_grpc.status import JobStatus, TaskStatus
from fateflow_grpc.storage import jobs, replicas, tasks, tracking, uploads
from fateflow_grpc.storage.database import Database
from fateflow_grpc.storage.delimited import (
    MAX_LINE_BYTES,
    DelimitedReader,
    check_delimiter,
    key_values,
    write_delimited,
)
from fateflow_grpc.storage.models import Job, OutputDataInfo, Task, UploadHistory
from fateflow_grpc.storage.table_store import TableDescription, TableStore, TableWriter

log = logging.getLogger(__name__)

LOCAL_ROLE = "local"
LOCAL_PARTY = "0"
UPLOAD = "upload_0"
DOWNLOAD = "download_0"
#: FATE keeps this many rows of a table as its preview (`f_part_of_data`).
PREVIEW_ROWS = 100
#: FATE's partition bounds: 0 < partition < 1024.
MAX_PARTITIONS = 1023
#: The longest `file` the upload history keeps (its column's size).
_FILE_COLUMN = 255


@dataclass(frozen=True)
class DataJobSettings:
    board_url: str
    logs_dir: Path
    server_file_dirs: tuple[Path, ...]
    #: This node's name among the party's replicas: a data job runs at the one it reached.
    replica: str = "node"


@dataclass(frozen=True)
class UploadConf:
    """An upload's settings as FATE's clients send them; None is "not given"."""

    file: str = ""
    namespace: str = ""
    table_name: str = ""
    head: int | None = None
    partition: int | None = None
    id_delimiter: str = ""
    drop: int | None = None
    work_mode: int | None = None
    use_local_data: int | None = None
    count: int | None = None
    backend: int | None = None
    extend_sid: bool | None = None
    auto_increasing_sid: bool | None = None
    with_meta: bool | None = None
    #: FATE's SchemaMetaParam as an object, or its JSON or Python text.
    meta: Any = None


@dataclass(frozen=True)
class DataJob:
    """What FATE's clients read of a data job's answer."""

    job_id: str
    table_name: str
    namespace: str
    board_url: str
    logs_directory: str


@dataclass(frozen=True)
class TableName:
    namespace: str
    name: str


class DataJobs:
    def __init__(self, settings: DataJobSettings, database: Database, store: TableStore) -> None:
        self._settings = settings
        self._database = database
        self._store = store

    # --- upload -----------------------------------------------------------------------------

    def upload(self, conf: UploadConf, chunks: Iterable[bytes]) -> DataJob:
        """Load a delimited file into a table: `chunks` are its bytes, unless the file is on
        this node (`use_local_data` 0)."""
        head, partitions = _check_upload(conf)
        meta = schema_meta(conf.meta, extend_sid=bool(conf.extend_sid)) if conf.with_meta else None
        # FATE splits a file uploaded with its meta on the meta's delimiter.
        delimiter = meta["delimiter"] if meta is not None else conf.id_delimiter or ","
        check_delimiter(delimiter)
        extend_sid = None
        if conf.extend_sid:
            extend_sid = "" if conf.auto_increasing_sid else uuid.uuid1().hex
        source: Iterable[bytes] = chunks
        if conf.use_local_data == 0:
            source = _file_chunks(self._server_path(conf.file, "file", writing=False))
        replace = conf.drop == 1
        if not replace and self._store.describe(conf.namespace, conf.table_name) is not None:
            raise AlreadyExists(
                f"table {conf.namespace}.{conf.table_name} already exists; upload with drop 1 "
                "(fateflow-client -drop 1, flow data upload --drop) to replace it",
                namespace=conf.namespace,
                table_name=conf.table_name,
            )
        parameters = {k: v for k, v in asdict(conf).items() if v not in (None, "")}
        job = self._start(
            UPLOAD,
            "Upload",
            {**parameters, "name": conf.table_name},
            TableName(conf.namespace, conf.table_name),
            conf.work_mode,
            upload=conf,
        )
        job_log = self._log(job.job_id, UPLOAD)
        job_log.write(f"upload of {conf.file or 'a file'} to {conf.namespace}.{conf.table_name}")
        writer: TableWriter | None = None
        try:
            try:
                reader = DelimitedReader(
                    source, delimiter=delimiter, head=head, extend_sid=extend_sid
                )
                writer = self._store.writer(reader.schema, partitions, version=job.job_id)
                for batch in reader:
                    writer.write(batch)
            except FateFlowError as error:
                raise _about_file(conf.file, error) from None
            if conf.count is not None and reader.rows != conf.count:
                raise InvalidArgument(
                    f"the file has {reader.rows} rows, not the {conf.count} its count says",
                    rows=reader.rows,
                    count=conf.count,
                )
            count = writer.finish()
            schema: dict[str, Any] = (
                {"sid": reader.names[0], "header": delimiter.join(reader.names[1:])} if head else {}
            )
            if meta is not None:
                schema["meta"] = meta
            description = TableDescription(
                namespace=conf.namespace,
                name=conf.table_name,
                schema=schema,
                partitions=partitions,
                delimiter=delimiter,
                have_head=head,
                part_of_data=key_values(writer.first_rows(PREVIEW_ROWS), delimiter),
            )
            # The table first, then the job's end: a crash between them leaves the whole
            # table published and its job failed at restart, never a job that says
            # success without its table.
            self._store.publish(writer, description, count, replace=replace)
            writer = None
            with self._database.session() as session:
                self._end(session, job.job_id, UPLOAD, TaskStatus.SUCCESS, count)
                tracking.save_output_data_info(
                    session,
                    OutputDataInfo(
                        f_job_id=job.job_id,
                        f_task_id=_task_id(job.job_id, UPLOAD),
                        f_task_version=0,
                        f_data_name="upload",
                        f_role=LOCAL_ROLE,
                        f_party_id=LOCAL_PARTY,
                        f_component_name=UPLOAD,
                        f_table_name=conf.table_name,
                        f_table_namespace=conf.namespace,
                    ),
                )
        except BaseException as error:
            if writer is not None:
                writer.discard()
            self._fail(job.job_id, UPLOAD, error)
            raise
        # FATE counts a repeated id once: its later row replaced the earlier one.
        job_log.write(f"success: {reader.rows} rows read, table count {count}")
        return job

    # --- download ---------------------------------------------------------------------------

    def download(
        self,
        namespace: str,
        table_name: str,
        output_path: str,
        delimiter: str,
        work_mode: int | None,
    ) -> DataJob:
        """Write a table to a delimited file on this node: its header line (if it was uploaded
        with one), then its rows in the order they were uploaded."""
        meta = self._store.describe(namespace, table_name)
        if meta is None:
            raise NotFound(
                f"table {namespace}.{table_name} does not exist",
                namespace=namespace,
                table_name=table_name,
            )
        path = self._server_path(output_path, "output_path", writing=True)
        delimiter = delimiter or meta.f_id_delimiter
        check_delimiter(delimiter)
        parameters = {
            "namespace": namespace,
            "table_name": table_name,
            "output_path": str(path),
            "delimiter": delimiter,
        }
        job = self._start(
            DOWNLOAD, "Download", parameters, TableName(namespace, table_name), work_mode
        )
        job_log = self._log(job.job_id, DOWNLOAD)
        # Written beside the target and renamed onto it: a reader never sees half a file.
        partial = _partial_file(path, job.job_id)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            header = self._store.schema_of(meta).names if meta.f_have_head else None
            with partial.open("wb") as out:
                rows = write_delimited(
                    self._store.batches_of(meta), out, delimiter=delimiter, header=header
                )
            partial.replace(path)
            with self._database.session() as session:
                self._end(session, job.job_id, DOWNLOAD, TaskStatus.SUCCESS, rows)
        except BaseException as error:
            partial.unlink(missing_ok=True)
            self._fail(job.job_id, DOWNLOAD, error)
            raise
        job_log.write(f"success: {rows} rows written to {path}")
        return job

    # --- deleting ---------------------------------------------------------------------------

    def delete_tables(
        self,
        namespace: str,
        table_name: str,
        job_id: str,
        role: str | None,
        party_id: str | None,
        component_name: str | None,
    ) -> list[TableName]:
        """Delete a table by name, or the tables a job's tasks wrote; NotFound if none."""
        if namespace and table_name:
            wanted = [TableName(namespace, table_name)]
        elif job_id:
            with self._database.session() as session:
                infos = tracking.list_output_data_info(
                    session, job_id, component_name=component_name, role=role, party_id=party_id
                )
            wanted = list(
                dict.fromkeys(TableName(i.f_table_namespace, i.f_table_name) for i in infos)
            )
        else:
            raise InvalidArgument(
                "name a table (namespace and table_name) or a job (job_id) whose tables to delete"
            )
        deleted = [t for t in wanted if self._store.delete_table(t.namespace, t.name)]
        if not deleted:
            what = f"{namespace}.{table_name}" if namespace and table_name else f"of job {job_id}"
            raise NotFound(
                f"no find table {what}", namespace=namespace, table_name=table_name, job_id=job_id
            )
        return deleted

    # --- recovery ---------------------------------------------------------------------------

    def recover(self) -> None:
        """After a restart: no data job of this node survived. Each unfinished one failed;
        what it wrote is removed (a download's partial file here, an upload's files by the
        store). Those of the party's other replicas run on."""
        with self._database.session() as session:
            held = {row.f_job_id for row in replicas.held_tasks(session, self._settings.replica)}
            unfinished = [
                job
                for status in (JobStatus.WAITING, JobStatus.RUNNING)
                for job in jobs.query_jobs(
                    session, jobs.JobFilter(role=LOCAL_ROLE, party_id=LOCAL_PARTY, status=status)
                )
                if job.f_job_id in held
            ]
        for job in unfinished:
            component = next(iter(job.f_dsl.get("components", {})), "")
            if component == DOWNLOAD:
                output = _parameters(job, component).get("output_path")
                if output:
                    _partial_file(Path(output), job.f_job_id).unlink(missing_ok=True)
            self._fail(job.f_job_id, component, RuntimeError("the node restarted while it ran"))
        self._store.collect_garbage()

    # --- job rows ---------------------------------------------------------------------------

    def _start(
        self,
        component: str,
        module: str,
        parameters: dict[str, Any],
        table: TableName,
        work_mode: int | None,
        *,
        upload: UploadConf | None = None,
    ) -> DataJob:
        """Store the job, its task (and an upload's history row), and mark them running."""
        job_id = new_job_id()
        work_mode = work_mode or 0
        runtime_conf = {
            "dsl_version": 2,
            "initiator": {"role": LOCAL_ROLE, "party_id": int(LOCAL_PARTY)},
            "role": {LOCAL_ROLE: [int(LOCAL_PARTY)]},
            "job_parameters": {"common": {"work_mode": work_mode}},
            "component_parameters": {"role": {LOCAL_ROLE: {LOCAL_PARTY: {component: parameters}}}},
        }
        with self._database.session() as session:
            jobs.create_job(
                session,
                Job(
                    f_job_id=job_id,
                    f_role=LOCAL_ROLE,
                    f_party_id=LOCAL_PARTY,
                    f_dsl={"components": {component: {"module": module}}},
                    f_runtime_conf=runtime_conf,
                    f_runtime_conf_on_party={"work_mode": work_mode},
                    f_roles=runtime_conf["role"],
                    f_work_mode=work_mode,
                    f_initiator_role=LOCAL_ROLE,
                    f_initiator_party_id=LOCAL_PARTY,
                    # The scheduler drives the jobs this node initiates across parties; a data
                    # job runs here alone, so it stays out of the scheduler's way.
                    f_is_initiator=False,
                    f_status=JobStatus.WAITING,
                ),
            )
            task_key = _task_key(job_id, component)
            tasks.create_task(
                session,
                Task(
                    f_job_id=job_id,
                    f_task_id=task_key.task_id,
                    f_task_version=0,
                    f_role=LOCAL_ROLE,
                    f_party_id=LOCAL_PARTY,
                    f_component_name=component,
                    f_initiator_role=LOCAL_ROLE,
                    f_initiator_party_id=LOCAL_PARTY,
                    f_status=TaskStatus.WAITING,
                    f_party_status=TaskStatus.WAITING,
                    f_run_on_this_party=True,
                    f_run_pid=os.getpid(),
                    f_holder=self._settings.replica,
                ),
            )
            if upload is not None:
                uploads.add_upload(
                    session,
                    UploadHistory(
                        f_job_id=job_id,
                        f_table_name=table.name,
                        f_namespace=table.namespace,
                        f_partition=upload.partition,
                        f_status=JobStatus.RUNNING,
                        f_file=upload.file[:_FILE_COLUMN],
                    ),
                )
            jobs.transition_job_status(session, _job_key(job_id), JobStatus.RUNNING)
            tasks.transition_task_party_status(session, task_key, TaskStatus.RUNNING)
            tasks.transition_task_status(session, task_key, TaskStatus.RUNNING)
        return DataJob(
            job_id=job_id,
            table_name=table.name,
            namespace=table.namespace,
            board_url=(
                f"{self._settings.board_url}/index.html#/dashboard?job_id={job_id}"
                f"&role={LOCAL_ROLE}&party_id={LOCAL_PARTY}"
            ),
            logs_directory=str(self._settings.logs_dir / job_id),
        )

    def _end(
        self, session: Session, job_id: str, component: str, status: TaskStatus, count: int | None
    ) -> None:
        task_key = _task_key(job_id, component)
        tasks.transition_task_party_status(session, task_key, status)
        tasks.transition_task_status(session, task_key, status)
        replicas.release(session, task_key, self._settings.replica)
        if status == TaskStatus.SUCCESS:
            jobs.update_job_progress(session, _job_key(job_id), 100)
        jobs.transition_job_status(session, _job_key(job_id), JobStatus(status.value))
        if component == UPLOAD:
            uploads.finish_upload(session, job_id, JobStatus(status.value), count)
        if status == TaskStatus.SUCCESS and count is not None:
            # The metric FATE's upload and download tasks write: what they moved.
            kind = "upload" if component == UPLOAD else "download"
            ref = tracking.ComponentRef(job_id, component, LOCAL_ROLE, LOCAL_PARTY)
            tracking.save_metric_data(
                session,
                ref,
                task_id=task_key.task_id,
                task_version=0,
                namespace=kind,
                name="data_access",
                points=[("count", count)],
            )
            tracking.save_metric_meta(
                session,
                ref,
                task_id=task_key.task_id,
                task_version=0,
                namespace=kind,
                name="data_access",
                meta={"name": kind, "metric_type": kind.upper(), "count": count},
            )

    def lose(self, job_id: str, component: str, holder: str) -> None:
        """A data job whose replica is gone: it failed (its files are left to the store's
        garbage collection, and a download's partial file to its machine)."""
        with self._database.session() as session:
            if not replicas.release(session, _task_key(job_id, component), holder):
                return  # another replica got there first
        self._fail(job_id, component, RuntimeError(f"replica {holder}, which ran it, is gone"))

    def _fail(self, job_id: str, component: str, error: BaseException) -> None:
        message = error.message if isinstance(error, FateFlowError) else repr(error)
        self._log(job_id, component).write(f"failed: {message}")
        try:
            with self._database.session() as session:
                self._end(session, job_id, component, TaskStatus.FAILED, None)
        except Exception:  # the caller raises the first error; recovery fails it later
            log.exception("job %s: could not record that it failed", job_id)

    def _log(self, job_id: str, component: str) -> _JobLog:
        return _JobLog(
            self._settings.logs_dir / job_id / LOCAL_ROLE / LOCAL_PARTY / component / "INFO.log"
        )

    # --- files on this node -----------------------------------------------------------------

    def _server_path(self, raw: str, what: str, *, writing: bool) -> Path:
        """`raw` resolved, if it lies under one of the allowed directories."""
        if not raw:
            raise InvalidArgument(f"the following arguments are required: {what}", fields=what)
        allowed = [directory.resolve() for directory in self._settings.server_file_dirs]
        if not allowed:
            raise PermissionDenied(
                f"{what} {raw} is refused: this node reads and writes no files of its own "
                "(its config names no server_file_dirs); send the file instead",
                path=raw,
            )
        path = Path(raw)
        resolved = (path if path.is_absolute() else allowed[0] / path).resolve()
        if not any(resolved.is_relative_to(directory) for directory in allowed):
            raise PermissionDenied(
                f"{what} {raw} is outside the directories this node may use: "
                + ", ".join(map(str, allowed)),
                path=raw,
            )
        if resolved.is_dir():
            raise InvalidArgument(f"{what} {raw} is a directory, not a file", path=raw)
        if not writing and not resolved.is_file():
            raise NotFound(
                f"{what} {raw} does not exist on this node",
                retcode=RetCode.EXCEPTION_ERROR,
                path=raw,
            )
        return resolved


class _JobLog:
    """A data job's log file, as FATE keeps one per task under the job's logs directory."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._path = path

    def write(self, message: str) -> None:
        with self._path.open("a") as file:
            file.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {message}\n")


def _check_upload(conf: UploadConf) -> tuple[bool, int]:
    """FATE's checks of an upload's settings; returns `head` and `partition`."""
    required: dict[str, object] = {
        "head": conf.head,
        "partition": conf.partition,
        "namespace": conf.namespace,
        "table_name": conf.table_name,
    }
    if conf.use_local_data == 0:  # else the client sends the bytes, and `file` is only a name
        required["file"] = conf.file
    missing = [name for name, value in required.items() if value in (None, "")]
    if missing:
        raise InvalidArgument(
            f"the following arguments are required: {', '.join(missing)}",
            fields=",".join(missing),
        )
    assert conf.head is not None and conf.partition is not None
    if conf.head not in (0, 1):
        raise InvalidArgument(f"head must be 1 (a header line) or 0 (none), not {conf.head}")
    if not 0 < conf.partition <= MAX_PARTITIONS:
        raise InvalidArgument(
            f"Error number of partition, it should between 0 and 1024, not {conf.partition}"
        )
    if conf.work_mode not in (None, 0, 1):
        raise InvalidArgument(f"work_mode must be 0 or 1, not {conf.work_mode}")
    if conf.count is not None and conf.count < 0:
        raise InvalidArgument(f"count must not be negative, not {conf.count}")
    check_table_name(conf.namespace, conf.table_name)
    return bool(conf.head), conf.partition


#: FATE-Flow's SchemaMetaParam: the meta an upload's `meta` may set, and its defaults.
SCHEMA_META: dict[str, Any] = {
    "delimiter": ",",
    "input_format": "dense",
    "tag_with_value": False,
    "tag_value_delimiter": ":",
    "with_match_id": False,
    "id_list": None,
    "id_range": 0,
    "exclusive_data_type": None,
    "data_type": "float64",
    "with_label": False,
    "label_name": "y",
    "label_type": "int",
}


def schema_meta(given: Any, *, extend_sid: bool) -> dict[str, Any]:
    """An upload's `meta` as FATE-Flow stores it: SchemaMetaParam's keys with their defaults,
    the label's settings only with a label, none that is None; with `extend_sid` the file's
    first field is the match id."""
    if isinstance(given, str):
        given = _meta_text(given)
    if given is None:
        given = {}
    if not isinstance(given, dict):
        raise InvalidArgument(f"meta must be an object, not {given!r}", field="meta")
    unknown = sorted(set(given) - set(SCHEMA_META))
    if unknown:
        raise InvalidArgument(
            f"meta has no setting {', '.join(map(repr, unknown))} (FATE's SchemaMetaParam has "
            f"{', '.join(SCHEMA_META)})",
            field="meta",
        )
    for name in ("id_list", "id_range"):
        if given.get(name, SCHEMA_META[name]) != SCHEMA_META[name]:
            raise InvalidArgument(
                f"meta's {name} is not supported here (the match id is the first field after "
                f"the id), not {given[name]!r}",
                field="meta",
            )
    meta = {**SCHEMA_META, **given}
    if not meta["with_label"]:
        meta["label_name"] = meta["label_type"] = None
    if extend_sid:
        meta["with_match_id"] = True
    if not isinstance(meta["delimiter"], str):
        raise InvalidArgument(f"meta's delimiter must be text, not {meta['delimiter']!r}")
    return {key: value for key, value in meta.items() if value is not None}


def _meta_text(text: str) -> Any:
    # FATE-Flow reads a text meta as a Python literal; clients send JSON too.
    try:
        return json.loads(text)
    except ValueError:
        pass
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        raise InvalidArgument(f"meta is neither JSON nor a Python literal: {text!r}") from None


def _about_file(file: str, error: FateFlowError) -> FateFlowError:
    """The error, its message prefixed with the file it is about."""
    return type(error)(
        f"{file or 'the file'}: {error.message}",
        reason=error.reason,
        retcode=error.retcode,
        **error.metadata,
    )


def _file_chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as file:
        while chunk := file.read(MAX_LINE_BYTES):
            yield chunk


def _partial_file(path: Path, job_id: str) -> Path:
    return path.with_name(f".{path.name}.{job_id}.partial")


def _parameters(job: Job, component: str) -> dict[str, Any]:
    by_role = job.f_runtime_conf.get("component_parameters", {}).get("role", {})
    parameters: dict[str, Any] = by_role.get(LOCAL_ROLE, {}).get(LOCAL_PARTY, {}).get(component, {})
    return parameters


def _task_id(job_id: str, component: str) -> str:
    return f"{job_id}_{component}"


def _task_key(job_id: str, component: str) -> tasks.TaskKey:
    return tasks.TaskKey(job_id, _task_id(job_id, component), 0, LOCAL_ROLE, LOCAL_PARTY)


def _job_key(job_id: str) -> jobs.JobKey:
    return jobs.JobKey(job_id, LOCAL_ROLE, LOCAL_PARTY)
