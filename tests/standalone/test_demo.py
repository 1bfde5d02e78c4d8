"""`fateflow demo` as a user runs it: the hetero LR example from upload to AUC, then nothing
left running; and a clear refusal when one of its ports is taken."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from contextlib import suppress
from pathlib import Path

import pytest

from fateflow_grpc.demo import PARTIES, DemoError, load_example
from fateflow_grpc.standalone.launcher import standalone_layout
from tests.multiparty.cluster import wait_for
from tests.standalone.process import free_port_offset

FATEFLOW = str(Path(sys.executable).with_name("fateflow"))


def _demo(tmp_path: Path, offset: int) -> list[str]:
    return [FATEFLOW, "demo", "--data-dir", str(tmp_path / "var"), "--port-offset", str(offset)]


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _processes_of(directory: Path) -> list[str]:
    """Command lines naming `directory`: the nodes (their config) and their workers (sys.path)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        with suppress(OSError):
            command = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
            if str(directory) in command:
                found.append(command)
    return found


@pytest.mark.slow
def test_demo_trains_the_hetero_example_and_stops_its_nodes(tmp_path: Path) -> None:
    offset = free_port_offset(PARTIES)
    # Its own session: if the test fails, everything the demo started can be killed at once.
    process = subprocess.Popen(
        _demo(tmp_path, offset),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = process.communicate(timeout=900)
        assert process.returncode == 0, output
        auc = re.search(r"^\s*AUC\s+([0-9.]+)$", output, re.MULTILINE)
        assert auc and float(auc.group(1)) >= 0.98, output
        assert re.search(r"^\s*KS\s+0\.\d+$", output, re.MULTILINE), output
        assert re.search(r"^\s*accuracy\s+0\.\d+ \(threshold", output, re.MULTILINE), output
        assert "hetero_lr_0: success" in output and "30 iterations" in output, output
        paths = re.findall(
            r"(?:guest 9999|host 10000|arbiter 10001):\s+(\S+)$", output, re.MULTILINE
        )
        assert len(paths) == 5, output  # the guest's and host's models, every party's logs
        for path in map(Path, paths):
            assert path.exists() and path.is_relative_to(tmp_path), path
        job_id = re.search(r"^job (\d+): success", output, re.MULTILINE)
        assert job_id and f"-f query_job -j {job_id.group(1)}" in output
        layout = standalone_layout(tmp_path / "var", PARTIES, offset)
        ports = [port for port, _ in layout.ports()]
        # Everything is at the standalone's one address.
        assert f"{layout.grpc_address} fateflow.v1.TrackingService/GetComponentMetricAll" in output
        assert f"--address {layout.http_url} -f query_job" in output
        assert not [port for port in ports if _listening(port)]
        # A node's worker processes end just after it (they read its end on a pipe).
        wait_for(lambda: not _processes_of(tmp_path), 10, "the nodes' processes to end")
    finally:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@pytest.mark.slow
def test_demo_refuses_a_port_another_program_holds(tmp_path: Path) -> None:
    offset = free_port_offset(PARTIES)
    layout = standalone_layout(tmp_path / "var", PARTIES, offset)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", layout.grpc_port))
        taken.listen()
        result = subprocess.run(
            _demo(tmp_path, offset), cwd=tmp_path, capture_output=True, text=True, timeout=120
        )
    assert result.returncode != 0
    assert f"port {layout.grpc_port} (the standalone's gRPC port) is in use" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert not (tmp_path / "var").exists()  # refused before anything started


def test_missing_example_files_are_named(tmp_path: Path) -> None:
    (tmp_path / "upload").mkdir()
    (tmp_path / "upload" / "breast_hetero_guest.json").write_text('{"file": "data/guest.csv"}')
    with pytest.raises(DemoError) as refused:
        load_example(tmp_path)
    message = str(refused.value)
    assert str(tmp_path / "upload" / "breast_hetero_host.json") in message
    assert str(tmp_path / "hetero_lr" / "dsl_v2.json") in message
    assert str(tmp_path / "upload" / "breast_hetero_guest.json") not in message
