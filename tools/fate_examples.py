"""Submit FATE's own example jobs, unchanged, to a `fateflow standalone`, and say what became of each.

    python tools/fate_examples.py --version v1.11.4 --output v1.11.4.json
    python tools/fate_examples.py --version v1.5.3 --module HeteroLR --jobs 2 --output lr.json
    python tools/fate_examples.py --markdown v1.11.4.json v1.5.3.json --doc docs/fate-compatibility.md

The jobs are FATE's (FederatedAI/FATE, `examples/dsl/v1/**` and `examples/dsl/v2/**` at a
release tag), read from a bare git mirror of FATE's repository: every pair of conf and DSL that
a module's `*testsuite.json` lists, with the tables that testsuite uploads. The tables are
uploaded from our copies of FATE's example data (`--data`, FATE's `examples/data/<file>` is
looked up by its file name there), then each job is submitted as FATE's test tool (fate_test)
submits it: the conf and DSL unchanged, a predict job once the job it `deps` on has succeeded,
with that job's model (DSL v2: deployed with the predict DSL, `/v1/model/deploy`, as
fate_test does; v1: the training job's model id and version).

A job naming a module we do not have (`fateflow_grpc.components.registry.COMPONENTS`) is
recorded as "module missing" without being submitted. The others end as "success", "refused"
(at submission, with FATE's retmsg), "failed" (with the failing component and the last line of
its error), "timeout", "data missing" (a table whose file we have no copy of) or "dependency
failed" (a predict job whose training job did not succeed).

Without `--address` a standalone is started for the run (in a temporary directory, ports moved
by a free offset) with every party id the selected confs use, and stopped at the end.

`--markdown` reads result files instead and prints the section "FATE's example jobs" of
`docs/fate-compatibility.md`; with `--doc` it replaces that section in the file.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import copy
import json
import posixpath
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fateflow_grpc.client_cli import FUNCTIONS, Function, call  # noqa: E402
from fateflow_grpc.components.registry import COMPONENTS  # noqa: E402
from fateflow_grpc.status import END_STATUSES, JobStatus  # noqa: E402

MIRROR = Path("/work/.mirror/FederatedAI+FATE/repo")
#: FATE's example tables: ours (breast) in the repository, FATE's others beside it.
DATA = (ROOT / "examples" / "data", Path("/work/shared/data/fate"), Path("/work/shared/data"))
VERSIONS = ("v1.11.4", "v1.5.3")
SECTION = "## FATE's example jobs"
#: How often a running job is asked about.
POLL_S = 2.0

OURS = frozenset(
    name for component in COMPONENTS for name in (component.info.name, *component.info.aliases)
)


@dataclass(frozen=True)
class Table:
    """A table a testsuite uploads: FATE's file path and the upload's settings."""

    namespace: str
    name: str
    file: str
    settings: tuple[tuple[str, Any], ...]


@dataclass
class Example:
    """One job of a testsuite."""

    version: str
    suite: str  # the testsuite's directory, such as examples/dsl/v2/intersect
    name: str
    conf: dict[str, Any]
    dsl: dict[str, Any] | None
    deps: str | None
    tables: list[Table]
    modules: list[str] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.suite}/{self.name}"

    @property
    def dsl_version(self) -> int:
        return int(self.conf.get("dsl_version", 1))

    def parties(self) -> set[int]:
        return {int(p) for ids in (self.conf.get("role") or {}).values() for p in ids}

    def table_names(self) -> set[tuple[str, str]]:
        """The (namespace, name) of every table the conf names."""
        found: set[tuple[str, str]] = set()

        def walk(node: Any) -> None:
            if isinstance(node, dict):
                if isinstance(node.get("name"), str) and isinstance(node.get("namespace"), str):
                    found.add((node["namespace"], node["name"]))
                for value in node.values():
                    walk(value)
            elif isinstance(node, list):
                for value in node:
                    walk(value)

        walk(self.conf)
        return found


@dataclass
class Result:
    version: str
    dsl_version: int
    suite: str
    name: str
    modules: list[str]
    ours: bool
    outcome: str
    #: FATE's retmsg of a refusal, or the failing component's error.
    detail: str = ""
    component: str = ""
    job_id: str = ""
    elapsed: float = 0.0
    #: The commit of this repository the job ran on.
    revision: str = ""
    #: Per component of a successful job: the guest's metric namespaces and names.
    metrics: dict[str, dict[str, list[str]]] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.suite}/{self.name}"


# ---------------------------------------------------------------------------- FATE's examples


def _git(mirror: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(mirror), *args], check=True, capture_output=True, text=True
    ).stdout


def _json(mirror: Path, version: str, path: str) -> Any:
    return json.loads(_git(mirror, "show", f"{version}:{path}"))


def load_examples(mirror: Path, version: str) -> list[Example]:
    """Every job of every testsuite under examples/dsl at `version`."""
    files = _git(mirror, "ls-tree", "-r", "--name-only", version, "examples/dsl/").split()
    examples: list[Example] = []
    suites = sorted(f for f in files if f.endswith("testsuite.json"))
    directories = Counter(posixpath.dirname(path) for path in suites)
    for path in suites:
        suite_dir = posixpath.dirname(path)
        # A directory with several testsuites (homo_nn's) may repeat job names: name the file.
        suite = suite_dir if directories[suite_dir] == 1 else path.removesuffix(".json")
        listed = _json(mirror, version, path)
        tables = [
            Table(
                str(row["namespace"]),
                str(row["table_name"]),
                str(row["file"]),
                tuple(sorted((k, v) for k, v in row.items() if k not in ("role", "file"))),
            )
            for row in listed.get("data", [])
        ]
        for name, task in (listed.get("tasks") or {}).items():
            conf = _json(mirror, version, posixpath.normpath(f"{suite_dir}/{task['conf']}"))
            dsl = (
                _json(mirror, version, posixpath.normpath(f"{suite_dir}/{task['dsl']}"))
                if task.get("dsl")
                else None
            )
            examples.append(Example(version, suite, name, conf, dsl, task.get("deps"), tables))
    by_key = {e.key: e for e in examples}
    for example in examples:
        dsl = example.dsl
        if dsl is None and example.deps:  # a v1 predict job runs its training job's DSL
            dsl = by_key[f"{example.suite}/{example.deps}"].dsl
        components = (dsl or {}).get("components") or {}
        example.modules = sorted({str(c.get("module")) for c in components.values()})
    return examples


def select(
    examples: list[Example], modules: list[str], names: list[str], dsl: list[str]
) -> list[Example]:
    """The examples asked for, with the jobs they depend on."""

    def wanted(e: Example) -> bool:
        return (
            (not modules or any(m.lower() in map(str.lower, e.modules) for m in modules))
            and (not names or any(re.search(n, e.key) for n in names))
            and (not dsl or e.suite.split("/")[2] in dsl)
        )

    chosen = {e.key for e in examples if wanted(e)}
    by_key = {e.key: e for e in examples}
    for key in list(chosen):
        while by_key[key].deps:
            key = f"{by_key[key].suite}/{by_key[key].deps}"
            chosen.add(key)
    return [e for e in examples if e.key in chosen]


def local_file(fate_path: str, data_dirs: Iterable[Path]) -> Path | None:
    """Our copy of FATE's `examples/data/<file>`, by file name."""
    name = posixpath.basename(fate_path)
    return next((d / name for d in data_dirs if (d / name).is_file()), None)


# ---------------------------------------------------------------------------- the standalone


def _free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@contextlib.contextmanager
def standalone(parties: list[int]) -> Iterator[str]:
    """A `fateflow standalone` of `parties` in a temporary directory; its HTTP address."""
    from fateflow_grpc.standalone.launcher import standalone_layout

    for _ in range(100):
        offset = random.randrange(1000, 40000, 10)
        layout = standalone_layout(Path("var"), tuple(parties), offset)
        if all(_free(port) for port, _ in layout.ports()):
            break
    else:
        raise SystemExit("no free ports for a standalone")
    with tempfile.TemporaryDirectory(prefix="fate-examples-") as directory:
        log = Path(directory) / "standalone.log"
        with log.open("wb") as output:
            process = subprocess.Popen(
                [
                    *(sys.executable, "-m", "fateflow_grpc", "standalone", "--data-dir", "var"),
                    *("--parties", ",".join(map(str, parties)), "--port-offset", str(offset)),
                ],
                cwd=directory,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        address = layout.http_url
        try:
            deadline = time.monotonic() + 300
            while not _answers(address):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"the standalone did not start:\n{log.read_text()[-3000:]}")
                time.sleep(1)
            yield address
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _answers(address: str) -> bool:
    request = urllib.request.Request(
        f"{address}/v1/job/query", data=b"{}", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=5):
            return True
    except OSError:
        return False


# ---------------------------------------------------------------------------- running the jobs


async def post(address: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    answer: dict[str, Any] = await call(address, Function(path), body)
    return answer


async def upload(address: str, tables: list[Table], data_dirs: list[Path]) -> dict[str, str]:
    """Upload each table once; the tables that could not be, with why."""
    failed: dict[str, str] = {}
    done: set[tuple[str, str]] = set()
    for table in tables:
        if (table.namespace, table.name) in done:
            continue
        done.add((table.namespace, table.name))
        path = local_file(table.file, data_dirs)
        if path is None:
            failed[f"{table.namespace}.{table.name}"] = f"no copy of {table.file}"
            continue
        request = {
            **dict(table.settings),
            "file": str(path),
            "namespace": table.namespace,
            "table_name": table.name,
            "drop": 1,
            "work_mode": 0,
        }
        answer = await call(address, FUNCTIONS["upload"], request)
        if answer.get("retcode") != 0:
            failed[f"{table.namespace}.{table.name}"] = str(answer.get("retmsg"))
            continue
        job_id = str(answer.get("jobId") or (answer.get("data") or {}).get("job_id") or "")
        status = await _wait(address, job_id, {}, 600) if job_id else JobStatus.SUCCESS
        if status != JobStatus.SUCCESS:
            failed[f"{table.namespace}.{table.name}"] = f"upload job {job_id} {status}"
    return failed


async def _wait(address: str, job_id: str, initiator: dict[str, Any], timeout: float) -> str:
    query = {"job_id": job_id, **initiator}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = (await post(address, "/v1/job/query", query)).get("data") or []
        if rows and rows[0]["f_status"] in END_STATUSES:
            return str(rows[0]["f_status"])
        await asyncio.sleep(POLL_S)
    await post(address, "/v1/job/stop", {"job_id": job_id})
    return "timeout"


async def _error(address: str, job_id: str) -> tuple[str, str]:
    """The first failed component and the last line of its error, from the job's logs."""
    tasks = (await post(address, "/v1/job/task/query", {"job_id": job_id})).get("data") or []
    failed = sorted(
        (t for t in tasks if t.get("f_party_status") == "failed" or t.get("f_status") == "failed"),
        key=lambda t: t.get("f_update_time", 0),
    )
    component = str(failed[0]["f_component_name"]) if failed else ""
    with tempfile.TemporaryDirectory() as directory:
        answer = await call(
            address, FUNCTIONS["job_log"], {"job_id": job_id, "output_path": directory}
        )
        if answer.get("retcode") != 0:
            return component, str(answer.get("retmsg"))
        return component, _last_error(Path(answer["directory"]), component)


def _last_error(directory: Path, component: str) -> str:
    """The exception line that ends the first traceback in the component's logs."""
    errors: list[tuple[float, str]] = []
    for log in directory.rglob("*.log"):
        if component and component not in log.parts:
            continue
        lines = log.read_text(errors="replace").splitlines()
        for i, line in enumerate(lines):
            if "Traceback (most recent call last)" in line:
                tail = next(
                    (
                        candidate
                        for candidate in lines[i + 1 :]
                        if candidate and not candidate.startswith((" ", "\t", "Traceback"))
                    ),
                    "",
                )
                if tail:
                    errors.append((log.stat().st_mtime, tail))
                break
    if errors:
        return min(errors)[1]
    return "no error found in the job's logs"


async def _metrics(address: str, example: Example, job_id: str) -> dict[str, dict[str, list[str]]]:
    guest = (example.conf.get("role") or {}).get("guest") or []
    if not guest:
        return {}
    found: dict[str, dict[str, list[str]]] = {}
    for component in ((example.dsl or {}).get("components") or {}) if example.dsl else {}:
        answer = await post(
            address,
            "/v1/tracking/component/metrics",
            {
                "job_id": job_id,
                "component_name": component,
                "role": "guest",
                "party_id": guest[0],
            },
        )
        data = answer.get("data") or {}
        if answer.get("retcode") == 0 and data:
            found[component] = {str(k): sorted(map(str, v)) for k, v in data.items()}
    return found


class Trained(NamedTuple):
    """A training job's model, and its conf's parties: `role` and `initiator`."""

    model: dict[str, str]
    parties: dict[str, Any]


def _with_model(example: Example, model: dict[str, str], trained: Trained) -> dict[str, Any]:
    """The conf as fate_test completes a predict job's: the model, job_type predict, and the
    training job's parties (fate_test puts every conf onto its own test parties, role by
    role, so that FATE's examples may name other ids in a predict conf than in the training
    conf it follows: SecureBoost's train with host 9998, predict with host 10000)."""
    conf = {**copy.deepcopy(example.conf), **copy.deepcopy(trained.parties)}
    parameters = conf.setdefault("job_parameters", {})
    if example.dsl_version == 2:
        parameters = parameters.setdefault("common", {})
    parameters.update(model)
    parameters.setdefault("job_type", "predict")
    return conf


def _on_test_backend(example: Example, conf: dict[str, Any]) -> dict[str, Any]:
    """FATE 1.5's fate_test sets every job's `work_mode` and `backend` to its config's (0 and
    0, standalone, by default), whatever the conf says: some 1.5 confs ask for a cluster on
    Spark (`work_mode` 1, `backend` 1). Later fate_test leaves the conf as it is."""
    if not example.version.startswith("v1.5."):
        return conf
    conf = copy.deepcopy(conf)
    parameters = conf.setdefault("job_parameters", {})
    if example.dsl_version == 2:
        parameters = parameters.setdefault("common", {})
    parameters.update(work_mode=0, backend=0)
    return conf


async def run_example(
    address: str,
    example: Example,
    unusable: dict[str, str],
    models: dict[str, asyncio.Future[Trained | None]],
    slots: asyncio.Semaphore,
    timeout: float,
) -> Result:
    ours = all(m in OURS for m in example.modules)
    result = Result(
        example.version,
        example.dsl_version,
        example.suite,
        example.name,
        example.modules,
        ours,
        "",
    )
    if not ours:
        result.outcome = "module missing"
        result.detail = ", ".join(m for m in example.modules if m not in OURS)
        return result
    missing = sorted(
        f"{ns}.{n}: {unusable[f'{ns}.{n}']}"
        for ns, n in example.table_names()
        if f"{ns}.{n}" in unusable
    )
    if missing:
        result.outcome, result.detail = "data missing", "; ".join(missing)
        return result
    conf = example.conf
    if example.deps:
        trained = await models[f"{example.version}:{example.suite}/{example.deps}"]
        if trained is None:
            result.outcome, result.detail = "dependency failed", example.deps
            return result
        model = trained.model
        if example.dsl_version == 2:
            answer = await post(
                address,
                "/v1/model/deploy",
                {**model, "predict_dsl": example.dsl},
            )
            if answer.get("retcode") != 0:
                result.outcome = "refused"
                result.detail = f"model/deploy: {answer.get('retmsg')}"
                return result
            model = {k: str(answer["data"][k]) for k in ("model_id", "model_version")}
        conf = _with_model(example, model, trained)
    conf = _on_test_backend(example, conf)
    async with slots:
        start = time.monotonic()
        answer = await post(
            address, "/v1/job/submit", {"job_dsl": example.dsl or {}, "job_runtime_conf": conf}
        )
        if answer.get("retcode") != 0:
            result.outcome, result.detail = "refused", str(answer.get("retmsg"))
            result.elapsed = round(time.monotonic() - start, 1)
            return result
        result.job_id = str(answer["jobId"])
        data = answer.get("data") or {}
        status = await _wait(address, result.job_id, {}, timeout)
        result.elapsed = round(time.monotonic() - start, 1)
    if status == JobStatus.SUCCESS:
        result.outcome = "success"
        result.metrics = await _metrics(address, example, result.job_id)
        model_info = data.get("model_info") or {}
        future = models.get(f"{example.version}:{result.key}")
        if future is not None and model_info:
            future.set_result(
                Trained(
                    {k: str(model_info[k]) for k in ("model_id", "model_version")},
                    {k: example.conf[k] for k in ("role", "initiator") if k in example.conf},
                )
            )
        return result
    result.outcome = "timeout" if status == "timeout" else "failed"
    result.component, result.detail = await _error(address, result.job_id)
    if status not in ("failed", "timeout"):
        result.detail = f"job {status}: {result.detail}"
    return result


async def run_all(
    address: str,
    examples: list[Example],
    data_dirs: list[Path],
    concurrency: int,
    timeout: float,
    report: Callable[[Result], None] = lambda result: None,
) -> list[Result]:
    """Run `examples` at `address`, `concurrency` jobs at once; `report`
    hears of each result as it comes."""
    needed = [
        t
        for e in examples
        if all(m in OURS for m in e.modules)
        for t in e.tables
        if (t.namespace, t.name) in e.table_names()
    ]
    unusable = await upload(address, needed, data_dirs)
    loop = asyncio.get_running_loop()
    models: dict[str, asyncio.Future[Trained | None]] = {
        f"{e.version}:{e.suite}/{e.deps}": loop.create_future() for e in examples if e.deps
    }
    slots = asyncio.Semaphore(concurrency)
    results: list[Result] = []

    async def one(example: Example) -> None:
        try:
            result = await run_example(address, example, unusable, models, slots, timeout)
        except Exception as error:  # a broken answer is this job's outcome, not the run's end
            result = Result(
                example.version,
                example.dsl_version,
                example.suite,
                example.name,
                example.modules,
                all(m in OURS for m in example.modules),
                "error",
                f"{type(error).__name__}: {error}",
            )
        future = models.get(f"{example.version}:{example.key}")
        if future is not None and not future.done():
            future.set_result(None)
        results.append(result)
        report(result)

    await asyncio.gather(*(one(e) for e in examples))
    order = {(e.version, e.key): i for i, e in enumerate(examples)}
    return sorted(results, key=lambda r: order[(r.version, r.key)])


# ---------------------------------------------------------------------------- the table


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(text.split()).replace("|", "\\|")
    return text if len(text) <= limit else text[: limit - 1] + "…"


#: What a refusal or an error comes from, and the part of the code it concerns: (pattern of the
#: message, kind of cause, where). Kinds: "parameter" (a parameter FATE defines, refused by
#: name), "as FATE" (FATE fails the job too), "data" (a table of FATE's we have no copy of). The first match wins; a cause no
#: result shows any more is taken out.
CAUSES: tuple[tuple[str, str, str], ...] = (
    (
        r"sqn is not offered",
        "parameter",
        "optimizer sqn, refused on purpose: FATE's quasi-Newton Hessian needs the arbiter to "
        "hold the gradients and the weights in the clear; components/linear",
    ),
    (
        r"encrypt_param\.method can only be None",
        "parameter",
        "HomoLR with Paillier (FATE 1.5), refused on purpose: our clients aggregate under "
        "pairwise masks; components/linear",
    ),
    (
        r"(data_type|label_type) str is not supported",
        "parameter",
        "DataTransform's string features and labels; components/io",
    ),
    (
        r"cardinality_method cannot be rsa",
        "parameter",
        "Intersection's rsa cardinality, refused: it shows the guest the intersection; "
        "components/intersect",
    ),
    (
        r"EINI_inference",
        "parameter",
        "SecureBoost's EINI inference; components/tree",
    ),
    (
        r"manual split points must name exactly the binned columns",
        "as FATE",
        "FATE fails this job too: its category columns are not binned, yet its manual split "
        "points name them; components/feature/hetero_binning.py",
    ),
    (r"no copy of", "data", "FATE's table is not among the copies in shared/data/fate"),
)


def cause(detail: str) -> tuple[str, str]:
    """The kind of cause and where it lies, for a refusal or an error (see CAUSES)."""
    message = re.split(r"; its parameters:", detail)[0]
    for pattern, kind, where in CAUSES:
        if re.search(pattern, message):
            return kind, where
    return "unclassified", ""


def reason(detail: str) -> str:
    """A refusal or error without what names one job: component names, ids, party ids, the
    list of parameters a module has; so that the jobs refused for one reason count together."""
    text = re.split(r"; its parameters:| \(components:", detail)[0]
    text = re.sub(r"\b[a-z][a-z_]*_\d+\b", "…", text)
    text = re.sub(r"\b(guest|host|arbiter) \d+\b", r"\1", text)
    return _short(re.sub(r"\b\d{8,}\b", "…", text), 240)


def rows_json(rows: list[dict[str, Any]]) -> str:
    """The results as JSON, a job a line (so that two runs diff job by job)."""
    return "[\n" + ",\n".join(json.dumps(row, sort_keys=True) for row in rows) + "\n]\n"


def markdown(results: list[dict[str, Any]], command: str) -> str:
    lines = [
        SECTION,
        "",
        "FATE's own example jobs (FederatedAI/FATE `examples/dsl/v1` and `v2`, every conf and",
        "DSL a module's testsuite lists), submitted unchanged to a `fateflow standalone` by",
        "`tools/fate_examples.py`, which uploads the tables each testsuite names and completes",
        "predict jobs with their training job's model as FATE's test tool does. The result",
        "files are in `docs/fate-examples/`; this section is generated from them by:",
        "",
        f"    {command}",
        "",
        "A run of a few jobs refreshes a full one (`--name intersect/ --output x.json`, then",
        "`x.json` last on the command line). The jobs ran on commit "
        + ", ".join(
            f"{rev or 'unknown'} ({n} jobs)"
            for rev, n in Counter(str(r.get("revision", "")) for r in results).most_common()
        )
        + ".",
        "",
    ]
    by_version: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in results:
        by_version[row["version"]].append(row)
    for version in sorted(by_version, key=lambda v: [int(x) for x in v[1:].split(".")]):
        rows = by_version[version]
        ours = [r for r in rows if r["ours"]]
        outcomes = Counter(r["outcome"] for r in ours)
        lines += [
            f"### {version}",
            "",
            "| jobs | all modules ours | run | refused at submission | failed | data missing"
            " | training job failed | timeout, error | module missing |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
            f"| {len(rows)} | {len(ours)} | {outcomes['success']} | {outcomes['refused']} |"
            f" {outcomes['failed']} | {outcomes['data missing']} |"
            f" {outcomes['dependency failed']} | {outcomes['timeout'] + outcomes['error']} |"
            f" {len(rows) - len(ours)} |",
            "",
        ]
        missing = Counter(m for r in rows if not r["ours"] for m in r["detail"].split(", ") if m)
        lines += [
            "Modules missing (jobs naming each): "
            + ", ".join(f"{m} {n}" for m, n in missing.most_common())
            + ".",
            "",
        ]
        failing = [
            r
            for r in ours
            if r["outcome"] not in ("success", "module missing", "dependency failed")
        ]
        causes = Counter(cause(r["detail"]) for r in failing)
        if causes:
            lines += [
                "| cause | what, where | jobs | outcomes | messages (the first reason met) |",
                "| --- | --- | --- | --- | --- |",
            ]
            for (kind, where), n in sorted(causes.items(), key=lambda item: (item[0][0], -item[1])):
                these = [r for r in failing if cause(r["detail"]) == (kind, where)]
                outcomes_here = Counter(r["outcome"] for r in these)
                messages = Counter(reason(r["detail"]) for r in these)
                lines.append(
                    f"| {kind} | {where} | {n} |"
                    f" {', '.join(f'{o} {k}' for o, k in outcomes_here.most_common())} |"
                    f" {'<br>'.join(f'{m} ({k})' for m, k in messages.most_common(4))} |"
                )
            lines.append("")
        lines += [
            "| job | DSL | modules | outcome | why | seconds |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for r in ours:
            why = r["detail"] if not r["component"] else f"{r['component']}: {r['detail']}"
            suite = r["suite"].removeprefix("examples/dsl/")
            lines.append(
                f"| {suite}/{r['name']} | v{r['dsl_version']} | {', '.join(r['modules'])} |"
                f" {r['outcome']} | {_short(why)} | {r['elapsed']} |"
            )
        lines.append("")
    return "\n".join(lines)


def replace_section(document: str, section: str) -> str:
    """`document` with its section "FATE's example jobs" (to the next `## `) replaced."""
    start = document.find(SECTION + "\n")
    if start < 0:
        return document.rstrip("\n") + "\n\n" + section
    end = document.find("\n## ", start + len(SECTION))
    rest = document[end + 1 :] if end >= 0 else ""
    return document[:start] + section + ("\n" + rest if rest else "")


# ---------------------------------------------------------------------------- command line


def main(argv: list[str] | None = None) -> None:
    cli = argparse.ArgumentParser(
        prog="fate_examples.py",
        description=__doc__.split("\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    cli.add_argument("--mirror", type=Path, default=MIRROR, help=f"default {MIRROR}")
    cli.add_argument(
        "--data",
        type=Path,
        action="append",
        help="where FATE's example tables are (repeatable; default "
        + ", ".join(map(str, DATA))
        + ")",
    )
    cli.add_argument(
        "--version", action="append", help=f"FATE's release tag (repeatable; default {VERSIONS})"
    )
    cli.add_argument("--dsl", action="append", choices=("v1", "v2"), help="examples/dsl/<v>")
    cli.add_argument("--module", action="append", default=[], help="jobs naming this module")
    cli.add_argument("--name", action="append", default=[], help="regex on suite/job name")
    cli.add_argument("--address", help="a running standalone's HTTP address")
    cli.add_argument("--parties", help="party ids of the standalone to start (default: the confs')")
    cli.add_argument("--jobs", type=int, default=1, help="jobs running at once (default 1)")
    cli.add_argument("--timeout", type=float, default=900, help="seconds per job (default 900)")
    cli.add_argument("--output", type=Path, help="write the results as JSON here")
    cli.add_argument(
        "--retry",
        type=Path,
        action="append",
        metavar="RESULTS",
        help="only the jobs of ours that did not succeed in these result files",
    )
    cli.add_argument("--list", action="store_true", help="list the selected jobs, run nothing")
    cli.add_argument(
        "--markdown",
        nargs="+",
        type=Path,
        metavar="RESULTS",
        help="result files (a later file's row for a job replaces an earlier one's)",
    )
    cli.add_argument("--doc", type=Path, help="with --markdown: replace the section in this file")
    args = cli.parse_args(argv)

    if args.markdown:
        # A later file's row replaces an earlier one's for the same job: a run of a few jobs
        # refreshes a full run.
        latest = {
            (row["version"], row["suite"], row["name"]): row
            for path in args.markdown
            for row in json.loads(path.read_text())
        }
        rows = list(latest.values())
        command = "python tools/fate_examples.py --markdown " + " ".join(
            str(p) for p in args.markdown
        )
        section = markdown(rows, command)
        if args.doc:
            args.doc.write_text(replace_section(args.doc.read_text(), section))
        else:
            print(section)
        return

    if not (args.mirror / "HEAD").is_file():
        raise SystemExit(f"no FATE mirror at {args.mirror} (bare git of FederatedAI/FATE)")
    examples = [
        e
        for version in args.version or VERSIONS
        for e in select(load_examples(args.mirror, version), args.module, args.name, args.dsl)
    ]
    if args.retry:
        latest = {
            (row["version"], row["suite"], row["name"]): row
            for path in args.retry
            for row in json.loads(path.read_text())
        }
        again = {key for key, row in latest.items() if row["ours"] and row["outcome"] != "success"}
        by_key = {(e.version, e.suite, e.name): e for e in examples}
        for key in list(again):  # with the training jobs they need
            while key in by_key and by_key[key].deps:
                key = (key[0], key[1], str(by_key[key].deps))
                again.add(key)
        examples = [e for e in examples if (e.version, e.suite, e.name) in again]
    if args.list:
        for e in examples:
            mark = "" if all(m in OURS for m in e.modules) else "  (module missing)"
            print(f"{e.version} {e.key}: {', '.join(e.modules)}{mark}")
        return
    data_dirs = args.data or list(DATA)

    done: list[Result] = []

    revision = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()

    def report(result: Result) -> None:
        result.revision = revision
        done.append(result)
        print(
            f"[{len(done)}/{len(examples)}] {result.version} {result.key}: {result.outcome}"
            f" {result.elapsed}s {result.component} {result.detail[:200]}",
            file=sys.stderr,
            flush=True,
        )
        if args.output:  # as it goes: a run cut short keeps what it measured
            args.output.write_text(rows_json([asdict(r) for r in done]))

    async def everything(address: str) -> list[Result]:
        return await run_all(address, examples, data_dirs, args.jobs, args.timeout, report)

    if args.address:
        results = asyncio.run(everything(args.address))
    else:
        parties = (
            sorted(int(p) for p in args.parties.split(","))
            if args.parties
            else sorted(set().union(*(e.parties() for e in examples)) or {9999, 10000})
        )
        with standalone(parties) as address:
            results = asyncio.run(everything(address))
    rows = [asdict(r) for r in results]
    if args.output:
        args.output.write_text(rows_json(rows))  # in the examples' order
    outcomes = Counter(r["outcome"] for r in rows)
    print(json.dumps(dict(outcomes)), file=sys.stderr)


if __name__ == "__main__":
    main()
