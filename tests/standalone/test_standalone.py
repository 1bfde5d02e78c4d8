"""`fateflow standalone` starts both parties, each reachable over HTTP, and stops them on ^C."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

from tests.standalone.process import run_standalone


def test_both_parties_answer_and_stop_on_interrupt(tmp_path: Path) -> None:
    with run_standalone(tmp_path) as standalone:
        for party in standalone.parties:
            request = urllib.request.Request(
                f"{standalone.http(party)}/v1/job/query",
                data=json.dumps({"job_id": "none"}).encode(),
                headers={"Content-Type": "application/json"},
            )
            with urllib.request.urlopen(request, timeout=10) as response:
                answer = json.load(response)
            assert answer["retcode"] == 0 and answer["data"] == []
            assert (standalone.data_dir / str(party.party_id) / "fateflow.db").exists()
    assert standalone.process.returncode == 0
