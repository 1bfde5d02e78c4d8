"""`fateflow-client -f FUNCTION ...`: FATE-Flow 1.x's `fate_flow_client.py`, same functions and flags.

The request is the `-c` JSON file overlaid with every flag given, under its long name; `-p` and
`-r` also set `local`. The answer is printed as FATE's client prints it: indented JSON, then an
empty line. The node's HTTP address comes from `--address`, `$FATEFLOW_ADDRESS`, or
http://127.0.0.1:9380.

`upload` sends the file named by `file` (relative to the current directory) as FATE's client
does: a multipart form with one `file` part and every setting in the query string. With
`"use_local_data": 0` in the conf it sends the conf alone, and the node reads `file` from its
own disk. `import` sends its archive the same way, its settings as form fields before the file.
`output_path` is made absolute here, as FATE's client does: `download` has the node write it,
`job_config`, `job_log`, `component_output_data` and `export` write into it here.

`submit_job --wait` (ours, not FATE's) follows the job at its initiator with a progress bar on
stderr until it ends, prints the job's final row, and exits 1 unless the job succeeded.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import os
import sys
import tarfile
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import aiohttp
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

from fateflow_grpc.status import END_STATUSES, JobStatus, TaskStatus

DEFAULT_ADDRESS = "http://127.0.0.1:9380"
#: Bytes read from a download at a time: what a download holds in memory.
CHUNK_SIZE = 256 * 1024
#: How often `--wait` asks the initiator about its job.
POLL_SECONDS = 1.0
#: FATE's answer when a downloaded archive cannot be read.
DOWNLOAD_FAILED = {
    "retcode": 100,
    "retmsg": "download failed, please check if the parameters are correct",
}


@dataclass(frozen=True)
class Function:
    """One `-f` function: the route it calls and the request keys it cannot do without."""

    path: str
    required: tuple[str, ...] = ()
    method: str = "POST"
    #: Keys removed from each row of `data` before printing, as FATE's client does.
    hidden: tuple[str, ...] = ()
    #: What happens around the call: "json" (send, print), "submit" (send the conf and the
    #: DSL of `-d`), "config" (write the job's config files into `-o`), "archive" (download
    #: a tar.gz and extract it into `-o`/`directory`), "upload" (send the file named by `file`
    #: along, settings in the query string), "import" (the same, settings as form fields),
    #: "export" (save the downloaded file into `-o` under the name the node gives it).
    kind: str = "json"
    #: Where an "archive" is extracted under `output_path`: a template of request keys.
    directory: str = ""


_COMPONENT = ("job_id", "component_name", "role", "party_id")
_MODEL = ("model_id", "model_version", "role", "party_id")

FUNCTIONS: dict[str, Function] = {
    "submit_job": Function("/v1/job/submit", kind="submit"),
    "stop_job": Function("/v1/job/stop", ("job_id",)),
    # FATE 1.6+'s `flow job rerun`: -cpn names the component to rerun from, `-c` may hold
    # {"force": true}.
    "rerun_job": Function("/v1/job/rerun", ("job_id",)),
    "query_job": Function("/v1/job/query", hidden=("f_runtime_conf", "f_dsl")),
    "clean_job": Function("/v1/job/clean", ("job_id",)),
    "data_view_query": Function("/v1/job/data/view/query", ("job_id",)),
    "query_task": Function("/v1/job/task/query"),
    "job_config": Function(
        "/v1/job/config", ("job_id", "role", "party_id", "output_path"), kind="config"
    ),
    "job_log": Function(
        "/v1/job/log",
        ("job_id", "output_path"),
        "GET",
        kind="archive",
        directory="job_{job_id}_log",
    ),
    "component_parameters": Function("/v1/tracking/component/parameters", _COMPONENT),
    "component_metric_all": Function("/v1/tracking/component/metric/all", _COMPONENT),
    "component_metrics": Function("/v1/tracking/component/metrics", _COMPONENT),
    "component_metric_delete": Function("/v1/tracking/component/metric/delete"),
    "component_output_model": Function("/v1/tracking/component/output/model", _COMPONENT),
    "component_output_data": Function(
        "/v1/tracking/component/output/data/download",
        (*_COMPONENT, "output_path"),
        "GET",
        kind="archive",
        directory="job_{job_id}_{component_name}_{role}_{party_id}_output_data",
    ),
    "component_output_data_table": Function("/v1/tracking/component/output/data/table", _COMPONENT),
    "upload": Function("/v1/data/upload", ("file",), kind="upload"),
    "download": Function("/v1/data/download", ("namespace", "table_name", "output_path")),
    "upload_history": Function("/v1/data/upload/history"),
    "table_info": Function("/v1/table/table_info", ("namespace", "table_name")),
    "table_delete": Function("/v1/table/delete"),
    "load": Function("/v1/model/load"),
    "bind": Function("/v1/model/bind", ("service_id",)),
    "store": Function("/v1/model/store", _MODEL),
    "restore": Function("/v1/model/restore", _MODEL),
    "export": Function("/v1/model/export", (*_MODEL, "output_path"), "GET", kind="export"),
    "import": Function("/v1/model/import", (*_MODEL, "file"), kind="import"),
}

#: (short flag, long name) as in fate_flow_client.py; the long name is the request key.
FLAGS = (
    ("-j", "job_id"),
    ("-p", "party_id"),
    ("-r", "role"),
    ("-cpn", "component_name"),
    ("-s", "status"),
    ("-n", "namespace"),
    ("-t", "table_name"),
    ("-w", "work_mode"),
    ("-i", "file"),
    ("-o", "output_path"),
    ("-m", "model"),
    ("-drop", "drop"),
    ("-limit", "limit"),
    ("-verbose", "verbose"),
    ("-src_party_id", "src_party_id"),
    ("-src_role", "src_role"),
)


def parser() -> argparse.ArgumentParser:
    functions = "\n".join(f"  {name:30} {f.method} {f.path}" for name, f in FUNCTIONS.items())
    result = argparse.ArgumentParser(
        prog="fateflow-client",
        description="FATE-Flow's command-line client.",
        epilog=f"functions:\n{functions}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    result.add_argument(
        "-f", "--function", required=True, choices=sorted(FUNCTIONS), metavar="FUNCTION"
    )
    result.add_argument("-c", "--config", type=Path, help="a JSON file merged into the request")
    result.add_argument("-d", "--dsl", type=Path, help="the job's DSL (submit_job)")
    for short, long in FLAGS:
        result.add_argument(short, f"--{long}", dest=long)
    result.add_argument(
        "--wait",
        action="store_true",
        help="submit_job: follow the job until it ends; exit 1 unless it succeeds",
    )
    result.add_argument(
        "--address",
        default=os.environ.get("FATEFLOW_ADDRESS", DEFAULT_ADDRESS),
        help=f"the node's HTTP address (default $FATEFLOW_ADDRESS or {DEFAULT_ADDRESS})",
    )
    return result


def build_request(args: argparse.Namespace, cli: argparse.ArgumentParser) -> dict[str, Any]:
    request: dict[str, Any] = {}
    if args.config:
        try:
            request = json.loads(args.config.read_text())
        except (OSError, ValueError) as error:
            cli.error(f"-c {args.config}: {error}")
        if not isinstance(request, dict):
            cli.error(f"-c {args.config}: the file must hold a JSON object")
    for _, long in FLAGS:
        value = getattr(args, long)
        if value not in (None, ""):
            request[long] = value
    if request.get("output_path"):
        request["output_path"] = str(Path(request["output_path"]).absolute())
    if args.party_id or args.role:
        request["local"] = {"party_id": args.party_id, "role": args.role}
    function = FUNCTIONS[args.function]
    if args.wait and function.kind != "submit":
        cli.error("--wait goes with -f submit_job only")
    missing = [key for key in function.required if request.get(key) in (None, "")]
    if function.kind == "submit":
        if not args.config:
            missing.append("config")
        elif not args.dsl and _job_type(request) != "predict":
            missing.append("dsl")
    if missing:
        flags = {long: short for short, long in (*FLAGS, ("-c", "config"), ("-d", "dsl"))}
        cli.error(
            f"-f {args.function} requires "
            + ", ".join(f"{flags[k]} ({k})" if k in flags else f"{k} (in -c)" for k in missing)
        )
    return request


def _job_type(conf: dict[str, Any]) -> str:
    parameters = conf.get("job_parameters") or {}
    return str((parameters.get("common") or parameters).get("job_type", "train"))


def _load_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise ValueError(f"{path}: {error}") from None


def _sends_file(function: Function, request: dict[str, Any]) -> bool:
    if function.kind == "upload":
        return str(request.get("use_local_data", 1)) != "0"
    return function.kind == "import"


async def call(
    address: str,
    function: Function,
    request: dict[str, Any],
    dsl: Path | None = None,
    wait: bool = False,
) -> Any:
    url = address.rstrip("/") + function.path
    body: dict[str, Any] = request
    if function.kind == "submit":
        body = {"job_dsl": _load_json(dsl) if dsl else {}, "job_runtime_conf": request}
    # No time limit: an upload or a download takes as long as its file needs, as with FATE's.
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None)) as session:
        if _sends_file(function, request):
            return await _send_file(session, url, request, in_query=function.kind == "upload")
        async with session.request(function.method, url, json=body) as response:
            # A download answers its file with 200 and an error as FATE's JSON envelope.
            if function.kind == "archive" and response.status == 200:
                return await _extract(response, request, function.directory)
            if function.kind == "export" and response.status == 200:
                return await _save(response, request)
            answer = await response.json(content_type=None)
        if wait and answer.get("retcode") == 0:
            answer = await _follow(session, address, answer["jobId"], request)
    _hide(answer, function.hidden)
    if function.kind == "config" and answer.get("retcode") == 0:
        return _write_config(answer, request)
    return answer


def _hide(answer: Any, keys: tuple[str, ...]) -> None:
    if keys and isinstance(answer.get("data"), list):
        for row in answer["data"]:
            for key in keys:
                row.pop(key, None)


async def _send_file(
    session: aiohttp.ClientSession, url: str, request: dict[str, Any], *, in_query: bool
) -> Any:
    """The file named by `file` as the form's `file` part; the settings in the query string
    (FATE's upload) or as form fields ahead of the file (FATE's import)."""
    path = Path(request["file"]).absolute()
    if not path.is_file():
        raise ValueError(f"file {path} does not exist")
    # Query strings and form fields carry text: strings as they are, the rest as JSON.
    settings = {
        key: value if isinstance(value, str) else json.dumps(value)
        for key, value in {**request, "file": str(path)}.items()
    }
    with path.open("rb") as file:
        form = aiohttp.FormData()
        if not in_query:
            for key, value in settings.items():
                form.add_field(key, value)
        form.add_field("file", file, filename=path.name, content_type="application/octet-stream")
        params = settings if in_query else None
        async with session.post(url, params=params, data=form) as response:
            return await response.json(content_type=None)


async def _copy(response: aiohttp.ClientResponse, file: IO[bytes]) -> None:
    async for chunk in response.content.iter_chunked(CHUNK_SIZE):
        file.write(chunk)


async def _extract(
    response: aiohttp.ClientResponse, request: dict[str, Any], template: str
) -> dict[str, Any]:
    """FATE's job_log and component_output_data: the tar.gz extracted into its directory."""
    directory = Path(request["output_path"]) / template.format(**request)
    with tempfile.TemporaryFile() as archive:
        try:
            await _copy(response, archive)
            archive.seek(0)
            with tarfile.open(fileobj=archive, mode="r:gz") as tar:
                directory.mkdir(parents=True, exist_ok=True)
                tar.extractall(directory, filter="data")  # "data" refuses paths leaving it
        except (
            aiohttp.ClientPayloadError,
            tarfile.TarError,
            EOFError,
            zlib.error,
            gzip.BadGzipFile,
        ):
            return DOWNLOAD_FAILED
    return {
        "retcode": 0,
        "directory": str(directory),
        "retmsg": f"download successfully, please check {directory} directory",
    }


async def _save(response: aiohttp.ClientResponse, request: dict[str, Any]) -> dict[str, Any]:
    """FATE's export: the archive saved into output_path under the name the node gives it."""
    disposition = response.content_disposition
    if disposition is None or not disposition.filename:
        raise ValueError(f"{response.url} answered a file without a name (Content-Disposition)")
    directory = Path(request["output_path"])
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / Path(disposition.filename).name  # never outside output_path
    try:
        with path.open("wb") as file:
            await _copy(response, file)
    except BaseException:
        path.unlink(missing_ok=True)  # no half file that looks like a model
        raise
    return {
        "retcode": 0,
        "file": str(path),
        "retmsg": f"download successfully, please check {path}",
    }


async def _follow(
    session: aiohttp.ClientSession, address: str, job_id: str, conf: dict[str, Any]
) -> Any:
    """`--wait`: the initiator's job row once the job has ended, with a progress bar meanwhile."""
    initiator = conf.get("initiator") or {}
    query = {"job_id": job_id, "role": initiator.get("role"), "party_id": initiator.get("party_id")}
    base = address.rstrip("/")
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=Console(stderr=True)) as progress:
        bar = progress.add_task(f"job {job_id}", total=100)
        while True:
            async with session.post(base + "/v1/job/query", json=query) as response:
                answer = await response.json(content_type=None)
            if answer.get("retcode") != 0 or not answer.get("data"):
                return answer
            row = answer["data"][0]
            async with session.post(base + "/v1/job/task/query", json=query) as response:
                tasks = (await response.json(content_type=None)).get("data") or []
            running = [t["f_component_name"] for t in tasks if t["f_status"] == TaskStatus.RUNNING]
            progress.update(
                bar,
                completed=row["f_progress"],
                description=f"job {job_id} {row['f_status']} {' '.join(running)}",
            )
            if row["f_status"] in END_STATUSES:
                _hide(answer, FUNCTIONS["query_job"].hidden)
                return {**answer, "jobId": job_id}
            await asyncio.sleep(POLL_SECONDS)


def _write_config(answer: dict[str, Any], request: dict[str, Any]) -> dict[str, Any]:
    """FATE's job_config: each key of the answer's data but job_id as a JSON file."""
    data = answer["data"]
    directory = Path(request["output_path"]) / f"job_{request['job_id']}_config"
    directory.mkdir(parents=True, exist_ok=True)
    for key, value in data.items():
        if key != "job_id":
            (directory / f"{key}.json").write_text(json.dumps(value, indent=4))
    del data["dsl"], data["runtime_conf"]
    return {
        **answer,
        "directory": str(directory),
        "retmsg": f"download successfully, please check {directory} directory",
    }


def _succeeded(answer: Any) -> bool:
    rows = answer.get("data") if answer.get("retcode") == 0 else None
    return isinstance(rows, list) and bool(rows) and rows[0].get("f_status") == JobStatus.SUCCESS


def main(argv: list[str] | None = None) -> None:
    cli = parser()
    args = cli.parse_args(argv)
    request = build_request(args, cli)
    function = FUNCTIONS[args.function]
    try:
        answer = asyncio.run(call(args.address, function, request, args.dsl, args.wait))
    except aiohttp.ClientConnectionError:
        answer = {
            "retcode": 100,
            "retmsg": "Connection refused, Please check if the fate flow service is started",
        }
    except aiohttp.ClientError as error:
        answer = {"retcode": 100, "retmsg": f"bad answer from {args.address}: {error}"}
    except (ValueError, OSError) as error:
        answer = {"retcode": 100, "retmsg": str(error)}
    except KeyboardInterrupt:
        sys.exit(130)  # a job followed by --wait goes on at the node
    try:
        print(json.dumps(answer, indent=4, ensure_ascii=False))
        print()
        sys.stdout.flush()
    except BrokenPipeError:  # `| head`: the reader has had what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no error at exit
    if args.wait and not _succeeded(answer):
        sys.exit(1)


if __name__ == "__main__":
    main()
