"""Upload and download through a real node, against pyarrow on the same file in the same run.

    python bench/upload.py [--rows 1000000] [--large-rows 4000000] [--rounds 3] [--dir DIR]
                           [--previous TREE] [--standalone]

Generates a CSV of `--rows` rows (an id, then 30 float features with 6 decimals), starts a real
`fateflow node` (core, gateway and proxy in one process, on free ports, over a fresh data
directory) allowed to read and write the bench's directory (with `--standalone`, FATE's
standalone shape instead: `fateflow standalone` of party 9999, its HTTP gateway and front in
one process and the party's node in another, their RSS counted together), and measures, in
rounds:

- floor: `pyarrow.csv.read_csv` of the file (types inferred, every core), in this process;
- client: FATE's client path, the file streamed as a multipart POST to `/v1/data/upload`
  through the HTTP gateway (fateflow-client's own code), timed until the answer, which comes
  once the table is published;
- server: the same upload with `use_local_data: 0`, the node reading the file itself;
- download: `/v1/data/download` of the table to a file on the node (checked equal to the
  uploaded file), against its floor, `pyarrow.csv.write_csv` of the same table (text columns,
  what a table holds) to a file;
- breast: the client path for the 569 rows of `examples/data/breast_hetero_guest.csv`, the
  table FATE's examples start with: what a small upload costs from request to answer.

With `--previous TREE` (a source tree of another version, say `git archive main | tar -x -C
TREE`), a second node runs that tree's code, and each round also times its client and server
uploads: a comparison that the machine's load weighs on equally, where the floor (two threads)
suffers more from it than a node does.

Each figure is the best of its rounds. The node's peak RSS is its VmHWM over the whole run.
Then the same with `--large-rows` rows on a fresh node (`--large-rounds`), to show that the
node's memory does not grow with the file. Each step starts after `sync`, so that none pays for
the disk writes of the one before. Prints a table, then one JSON line of the figures. A
figure is never a failure: the exit status says only whether the measurement could run.
"""

from __future__ import annotations

import argparse
import asyncio
import filecmp
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import psutil
import pyarrow as pa
import pyarrow.csv as pa_csv
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fateflow_grpc.client_cli import FUNCTIONS, call  # noqa: E402
from fateflow_grpc.standalone.launcher import HTTP_PORT  # noqa: E402

FEATURES = 30
PARTITIONS = 16
BREAST = ROOT / "examples" / "data" / "breast_hetero_guest.csv"


def generate(path: Path, rows: int) -> None:
    """`rows` rows of an id and FEATURES standard normal values rounded to 6 decimals."""
    rng = np.random.default_rng(20261127)
    names = ["id", *(f"x{i}" for i in range(FEATURES))]
    schema = pa.schema([("id", pa.int64()), *((name, pa.float64()) for name in names[1:])])
    # pyarrow quotes header names whatever the quoting style: the header is written here.
    options = pa_csv.WriteOptions(include_header=False, quoting_style="none")
    with path.open("wb") as file:
        file.write((",".join(names) + "\n").encode())
        with pa_csv.CSVWriter(file, schema, write_options=options) as writer:
            for start in range(0, rows, 200_000):
                count = min(200_000, rows - start)
                values = np.round(rng.standard_normal((count, FEATURES)), 6)
                columns = [pa.array(np.arange(start, start + count)), *values.T]
                writer.write_batch(pa.RecordBatch.from_arrays(columns, schema=schema))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Node:
    """A `fateflow node` process allowed to use `files`; or, `standalone`, `fateflow standalone`
    of party 9999 (a node of its own behind the front and gateway, which serve FATE's one
    address), run in `files` (a standalone allows its directory)."""

    def __init__(
        self, directory: Path, files: Path, root: Path = ROOT, standalone: bool = False
    ) -> None:
        self.http = free_port()
        self.standalone = standalone
        directory.mkdir(parents=True)
        self.log = (directory / "node.log").open("wb")
        command = [sys.executable, "-m", "fateflow_grpc"]
        if standalone:
            offset = self.http - HTTP_PORT
            command += ["standalone", "--parties", "9999", "--data-dir", str(directory)]
            command += ["--port-offset", str(offset)]
        else:
            config = directory / "node.yaml"
            config.write_text(
                yaml.safe_dump(
                    {
                        "party_id": 9999,
                        "http_port": self.http,
                        "grpc_port": free_port(),
                        "proxy_port": free_port(),
                        "data_dir": str(directory),
                        "server_file_dirs": [str(files)],
                    }
                )
            )
            command += ["node", "--config", str(config)]
        self.process = subprocess.Popen(
            command,
            # `-m fateflow_grpc` imports the package of the tree it is given.
            cwd=files if standalone else root,
            env={**os.environ, "PYTHONPATH": str(root)},
            stdout=self.log,
            stderr=self.log,
        )
        self.address = f"http://127.0.0.1:{self.http}"
        deadline = time.monotonic() + 60
        while not self._ready():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.close()
                raise RuntimeError(f"the node did not start: see {directory / 'node.log'}")
            time.sleep(0.2)

    def _ready(self) -> bool:
        request = urllib.request.Request(
            f"{self.address}/v1/job/list/job", data=b"{}", method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=2):
                return True
        except OSError:
            return False

    def memory_mb(self, field: str = "VmHWM") -> float:
        """The node's; standalone, the front's process and its party's node's together."""
        processes = [psutil.Process(self.process.pid)]
        if self.standalone:
            processes += processes[0].children()
        total = 0.0
        for process in processes:
            for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
                if line.startswith(f"{field}:"):
                    total += int(line.split()[1]) / 1024
        return total

    def call(self, function: str, request: dict[str, Any]) -> None:
        answer = asyncio.run(call(self.address, FUNCTIONS[function], request))
        if answer.get("retcode") != 0:
            raise RuntimeError(f"{function} failed: {answer}")

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


def timed(action: Callable[[], object]) -> float:
    # What earlier steps wrote leaves the page cache first: no step pays for another's writes.
    os.sync()
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def write_floor(source: Path, output: Path) -> float:
    """Seconds pyarrow takes to write the file's rows, read as text (what a table holds)."""
    names = source.open().readline().strip().split(",")
    table = pa_csv.read_csv(
        str(source),
        convert_options=pa_csv.ConvertOptions(column_types=dict.fromkeys(names, pa.string())),
    )
    options = pa_csv.WriteOptions(quoting_style="none")
    return timed(lambda: pa_csv.write_csv(table, str(output), options))


def measure(
    files: Path, node_dir: Path, rows: int, rounds: int, previous: Path | None, standalone: bool
) -> dict[str, float]:
    """Best seconds of each measurement over `rounds`, and the node's memory."""
    source = files / f"bench_{rows}.csv"
    if not source.exists():
        print(f"generating {rows:,} rows ...", flush=True)
        generate(source, rows)
    conf = {
        "file": str(source),
        "head": 1,
        "partition": PARTITIONS,
        "work_mode": 0,
        "namespace": "bench",
        "drop": 1,
    }
    output = files / f"download_{rows}.csv"
    floor_output = files / f"floor_{rows}.csv"
    best: dict[str, float] = {}
    node = Node(node_dir, files, standalone=standalone)
    other = (
        Node(node_dir.with_name(f"{node_dir.name}-previous"), files, previous) if previous else None
    )
    try:
        best["node_start_mb"] = node.memory_mb("VmRSS")
        for round_ in range(rounds):
            seconds = {
                "floor": timed(lambda: pa_csv.read_csv(str(source))),
                "client": timed(lambda: node.call("upload", {**conf, "table_name": "client"})),
                "server": timed(
                    lambda: node.call(
                        "upload", {**conf, "table_name": "server", "use_local_data": 0}
                    )
                ),
                "download": timed(
                    lambda: node.call(
                        "download",
                        {"namespace": "bench", "table_name": "client", "output_path": str(output)},
                    )
                ),
                "breast": timed(
                    lambda: node.call(
                        "upload", {**conf, "file": str(BREAST), "table_name": "breast"}
                    )
                ),
            }
            if other is not None:
                seconds["previous_client"] = timed(
                    lambda: other.call("upload", {**conf, "table_name": "client"})
                )
                seconds["previous_server"] = timed(
                    lambda: other.call(
                        "upload", {**conf, "table_name": "server", "use_local_data": 0}
                    )
                )
            seconds["write_floor"] = write_floor(source, floor_output)
            if not filecmp.cmp(source, output, shallow=False):
                raise RuntimeError("the download differs from the uploaded file")
            print(
                f"  round {round_ + 1}: "
                + ", ".join(f"{name} {value:.2f} s" for name, value in seconds.items()),
                flush=True,
            )
            for name, value in seconds.items():
                best[name] = min(best.get(name, value), value)
        best["node_peak_mb"] = node.memory_mb()
    finally:
        node.close()
        if other is not None:
            other.close()
        output.unlink(missing_ok=True)
        floor_output.unlink(missing_ok=True)
    return best


def figures(rows: int, best: dict[str, float]) -> dict[str, float]:
    rate = {
        name: rows / best[name] for name in ("floor", "client", "server", "download", "write_floor")
    }
    return {
        "rows": rows,
        "floor_rows_per_s": round(rate["floor"]),
        "client_rows_per_s": round(rate["client"]),
        "client_ratio": round(rate["client"] / rate["floor"], 2),
        "server_rows_per_s": round(rate["server"]),
        "server_ratio": round(rate["server"] / rate["floor"], 2),
        "download_rows_per_s": round(rate["download"]),
        "write_floor_rows_per_s": round(rate["write_floor"]),
        "download_ratio": round(rate["download"] / rate["write_floor"], 2),
        "breast_upload_ms": round(best["breast"] * 1000, 1),
        "node_start_rss_mb": round(best["node_start_mb"]),
        "node_peak_rss_mb": round(best["node_peak_mb"]),
        **{
            f"{path}_vs_previous": round(best[f"previous_{path}"] / best[path], 2)
            for path in ("client", "server")
            if f"previous_{path}" in best
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--large-rows", type=int, default=4_000_000, help="0: skip")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--large-rounds", type=int, default=2)
    parser.add_argument("--previous", type=Path, help="another version's source tree to compare")
    parser.add_argument(
        "--dir", type=Path, help="keep the generated files here (default: a temp dir)"
    )
    parser.add_argument(
        "--standalone",
        action="store_true",
        help="FATE's standalone shape (fateflow standalone) rather than one fateflow node",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fateflow-bench-upload-") as scratch:
        files = (args.dir or Path(scratch)).resolve()
        files.mkdir(parents=True, exist_ok=True)
        nodes = Path(scratch) / "nodes"
        runs = [(args.rows, args.rounds)]
        if args.large_rows:
            runs.append((args.large_rows, args.large_rounds))
        results = []
        for rows, rounds in runs:
            print(f"{rows:,} rows x {FEATURES} features, {rounds} round(s):", flush=True)
            results.append(
                figures(
                    rows,
                    measure(files, nodes / str(rows), rows, rounds, args.previous, args.standalone),
                )
            )
    print()
    print(f"{'rows':>10} {'path':<10} {'rows/s':>12} {'floor rows/s':>14} {'ratio':>6}")
    for result in results:
        for path, floor in (("client", "floor"), ("server", "floor"), ("download", "write_floor")):
            ratio = result[f"{'download' if path == 'download' else path}_ratio"]
            print(
                f"{result['rows']:>10,} {path:<10} {result[f'{path}_rows_per_s']:>12,} "
                f"{result[f'{floor}_rows_per_s']:>14,} {ratio:>6}"
            )
        print(
            f"{result['rows']:>10,} node RSS: {result['node_start_rss_mb']} MB at start, "
            f"peak {result['node_peak_rss_mb']} MB; 569-row upload {result['breast_upload_ms']} ms"
        )
        for path in ("client", "server"):
            if f"{path}_vs_previous" in result:
                print(
                    f"{result['rows']:>10,} {path}: {result[f'{path}_vs_previous']}x as fast as "
                    "the previous version in the same rounds"
                )
    print(json.dumps({"bench": "upload", "runs": results}))


if __name__ == "__main__":
    main()
