"""`fateflow-client -f FUNCTION ...`: FATE-Flow 1.x's `fate_flow_client.py`, same functions and flags.

The request is the `-c` JSON file overlaid with every flag given, under its long name; `-p` and
`-r` also set `local`. The answer is printed as FATE's client prints it: indented JSON, then an
empty line. The node's HTTP address comes from `--address`, `$FATEFLOW_ADDRESS`, or
http://127.0.0.1:9380.

`upload` sends the file named by `file` (relative to the current directory) as FATE's client
does: a multipart form with one `file` part and every setting in the query string. With
`"use_local_data": 0` in the conf it sends the conf alone, and the node reads `file` from its
own disk. `output_path` is made absolute here, as FATE's client does; the node writes it.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

DEFAULT_ADDRESS = "http://127.0.0.1:9380"


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
    #: a tar.gz and extract it into `-o`), "upload" (send the file named by `file` along).
    kind: str = "json"


_COMPONENT = ("job_id", "component_name", "role", "party_id")

FUNCTIONS: dict[str, Function] = {
    "submit_job": Function("/v1/job/submit", kind="submit"),
    "stop_job": Function("/v1/job/stop", ("job_id",)),
    "query_job": Function("/v1/job/query", hidden=("f_runtime_conf", "f_dsl")),
    "clean_job": Function("/v1/job/clean", ("job_id",)),
    "data_view_query": Function("/v1/job/data/view/query"),
    "query_task": Function("/v1/job/task/query"),
    "job_config": Function(
        "/v1/job/config", ("job_id", "role", "party_id", "output_path"), kind="config"
    ),
    "job_log": Function("/v1/job/log", ("job_id", "output_path"), "GET", kind="archive"),
    "component_parameters": Function("/v1/tracking/component/parameters", _COMPONENT),
    "component_metric_all": Function("/v1/tracking/component/metric/all", _COMPONENT),
    "component_metrics": Function("/v1/tracking/component/metrics", _COMPONENT),
    "component_metric_delete": Function("/v1/tracking/component/metric/delete"),
    "component_output_model": Function("/v1/tracking/component/output/model", _COMPONENT),
    "component_output_data_table": Function("/v1/tracking/component/output/data/table", _COMPONENT),
    "upload": Function("/v1/data/upload", ("file",), kind="upload"),
    "download": Function("/v1/data/download", ("namespace", "table_name", "output_path")),
    "upload_history": Function("/v1/data/upload/history"),
    "table_info": Function("/v1/table/table_info", ("namespace", "table_name")),
    "table_delete": Function("/v1/table/delete"),
    "load": Function("/v1/model/load"),
    "bind": Function("/v1/model/bind"),
    "store": Function("/v1/model/store"),
    "restore": Function("/v1/model/restore"),
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
    missing = [key for key in function.required if request.get(key) in (None, "")]
    if function.kind == "submit":
        if not args.config:
            missing.append("config")
        elif not args.dsl and _job_type(request) != "predict":
            missing.append("dsl")
    if missing:
        flags = {long: short for short, long in (*FLAGS, ("-c", "config"), ("-d", "dsl"))}
        cli.error(
            f"-f {args.function} requires " + ", ".join(f"{flags.get(k, k)} ({k})" for k in missing)
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
    return function.kind == "upload" and str(request.get("use_local_data", 1)) != "0"


async def call(
    address: str, function: Function, request: dict[str, Any], dsl: Path | None = None
) -> Any:
    url = address.rstrip("/") + function.path
    body: dict[str, Any] = request
    if function.kind == "submit":
        body = {"job_dsl": _load_json(dsl) if dsl else {}, "job_runtime_conf": request}
    # No time limit: an upload or a download takes as long as its file needs, as with FATE's.
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None)) as session:
        if _sends_file(function, request):
            return await _upload(session, url, request)
        async with session.request(function.method, url, json=body) as response:
            if function.kind == "archive" and response.status == 200:
                return _extract(await response.read(), request)
            answer = await response.json(content_type=None)
    if function.hidden and isinstance(answer.get("data"), list):
        for row in answer["data"]:
            for key in function.hidden:
                row.pop(key, None)
    if function.kind == "config" and answer.get("retcode") == 0:
        return _write_config(answer, request)
    return answer


async def _upload(session: aiohttp.ClientSession, url: str, request: dict[str, Any]) -> Any:
    """FATE's upload: the file as the form's one part, every setting in the query string."""
    path = Path(request["file"]).absolute()
    if not path.is_file():
        raise ValueError(f"file {path} does not exist")
    # Query strings carry text: strings as they are, numbers (and anything else) as JSON.
    query = {
        key: value if isinstance(value, str) else json.dumps(value)
        for key, value in {**request, "file": str(path)}.items()
    }
    with path.open("rb") as file:
        form = aiohttp.FormData()
        form.add_field("file", file, filename=path.name, content_type="application/octet-stream")
        async with session.post(url, params=query, data=form) as response:
            return await response.json(content_type=None)


def _extract(archive: bytes, request: dict[str, Any]) -> dict[str, Any]:
    """FATE's job_log: the job's logs, extracted into <output_path>/job_<id>_log/."""
    directory = Path(request["output_path"]) / f"job_{request['job_id']}_log"
    directory.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        tar.extractall(directory, filter="data")  # "data" refuses paths leaving the directory
    return {
        "retcode": 0,
        "directory": str(directory),
        "retmsg": f"download successfully, please check {directory} directory",
    }


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


def main(argv: list[str] | None = None) -> None:
    cli = parser()
    args = cli.parse_args(argv)
    request = build_request(args, cli)
    try:
        answer = asyncio.run(call(args.address, FUNCTIONS[args.function], request, args.dsl))
    except aiohttp.ClientConnectionError:
        answer = {
            "retcode": 100,
            "retmsg": "Connection refused, Please check if the fate flow service is started",
        }
    except aiohttp.ClientError as error:
        answer = {"retcode": 100, "retmsg": f"bad answer from {args.address}: {error}"}
    except (ValueError, OSError, tarfile.TarError) as error:
        answer = {"retcode": 100, "retmsg": str(error)}
    print(json.dumps(answer, indent=4, ensure_ascii=False))
    print()
    sys.stdout.flush()


if __name__ == "__main__":
    main()
