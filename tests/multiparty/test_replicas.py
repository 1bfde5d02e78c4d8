"""A party run as two replicas on one PostgreSQL database, with real processes: the guest is
two `fateflow node --no-proxy` processes sharing a database and a data directory behind the
guest's one proxy (`fateflow proxy`, whose route to its own party lists both cores); the host
(and arbiter) is one ordinary node. Jobs submitted at either replica run; a replica killed
mid-task loses its task to the other, and no task ever runs twice at the same time."""

from __future__ import annotations

import itertools
import os
import re
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, make_url, text

from fateflow.v1 import job_service_pb2 as pb
from tests.multiparty.cluster import NodeProcess, upload, wait_for
from tests.multiparty.test_crashes import hetero_lr_job
from tests.multiparty.test_scheduling import GUEST, HOST, chain, conf_v2, statuses, submit

pytestmark = pytest.mark.slow

REPLICAS = ("a", "b")


@pytest.fixture
def database_url() -> Iterator[str]:
    """A PostgreSQL database of this test's own, dropped after it."""
    server = os.environ.get("FATEFLOW_TEST_POSTGRES_URL")
    if not server:
        pytest.skip("FATEFLOW_TEST_POSTGRES_URL is not set: replicas need a PostgreSQL server")
    url = make_url(server)
    name = f"fateflow_replicas_{secrets.token_hex(6)}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name}"))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


@dataclass
class Cluster:
    proxy: NodeProcess
    replicas: dict[str, NodeProcess]
    host: NodeProcess
    database_url: str

    def nodes(self) -> list[NodeProcess]:
        return [self.proxy, *self.replicas.values(), self.host]

    def query(self, sql: str, **values: Any) -> list[Any]:
        engine = create_engine(self.database_url)
        try:
            with engine.connect() as connection:
                return list(connection.execute(text(sql), values))
        finally:
            engine.dispose()


@pytest.fixture
def cluster(tmp_path: Path, database_url: str) -> Iterator[Cluster]:
    shared = tmp_path / str(GUEST)  # tables, models, logs, the proxy's socket and mailbox
    timing = {"heartbeat_interval_s": 0.5, "replica_lease_s": 5.0}
    proxy = NodeProcess(GUEST, shared, command=("proxy",), log_name="proxy.log")
    replicas = {
        name: NodeProcess(
            GUEST,
            shared,
            {"database_url": database_url, "replica_name": name, "task_slots": 4, **timing},
            command=("node", "--no-proxy"),
            log_name=f"replica-{name}.log",
        )
        for name in REPLICAS
    }
    host = NodeProcess(HOST, tmp_path / str(HOST))
    secret = secrets.token_hex(16)
    proxy.write_config(
        {
            HOST: host.proxy_address,
            GUEST: [f"127.0.0.1:{replica.grpc_port}" for replica in replicas.values()],
        },
        {HOST: secret},
    )
    for replica in replicas.values():
        replica.write_config({HOST: host.proxy_address})
    host.write_config({GUEST: proxy.proxy_address}, {GUEST: secret})
    started = Cluster(proxy, replicas, host, database_url)
    try:
        # The replicas' recovery reports through the party's proxy: it starts first. The machine
        # may be loaded: starting takes what it takes.
        proxy.start(timeout=120)
        for node in started.nodes()[1:]:
            node.launch()
        for node in started.nodes()[1:]:
            node.wait_serving(timeout=120)
        yield started
    finally:
        for node in reversed(started.nodes()):
            node.stop()


class Overlaps:
    """Samples the database while jobs run: two attempts of one task held at once, ever?"""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.found: list[Any] = []
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        engine = create_engine(self.cluster.database_url)
        held = text(
            "SELECT f_job_id, f_task_id, f_role, f_party_id, count(*) FROM t_task "
            "WHERE f_holder IS NOT NULL GROUP BY f_job_id, f_task_id, f_role, f_party_id "
            "HAVING count(*) > 1"
        )
        try:
            with engine.connect() as connection:
                while not self._stop.is_set():
                    self.found += list(connection.execute(held))
                    connection.rollback()
                    self.samples += 1
                    time.sleep(0.05)
        finally:
            engine.dispose()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


@pytest.fixture
def overlaps(cluster: Cluster) -> Iterator[Overlaps]:
    """Sampling from the start of the test to its end, whatever happens in between."""
    watching = Overlaps(cluster)
    yield watching
    watching.stop()


_LINE = re.compile(
    r"^(?P<at>\S+ \S+) INFO \S+: replica (?P<replica>\S+)(?: runs task|: task) "
    r"TaskRef\(job_id='(?P<job>\d+)', component_name='(?P<component>\w+)', "
    r"task_version=(?P<version>\d+), role='(?P<role>\w+)', party_id=(?P<party>\d+)\)"
    r"(?P<what> in process| ended)"
)


def run_intervals(
    cluster: Cluster, killed: dict[str, float]
) -> dict[tuple[str, str, str], list[tuple[float, float, str, int]]]:
    """From the replicas' logs: (job, component, role) -> the (start, end, replica, version)
    of each run of the task's attempts; a run of a killed replica ends at its kill."""
    runs: dict[tuple[str, str, str], list[tuple[float, float, str, int]]] = {}
    for name, replica in cluster.replicas.items():
        started: dict[tuple[str, str, str, int], float] = {}
        for line in replica.log_path.read_text().splitlines():
            match = _LINE.match(line)
            if match is None:
                continue
            at = datetime.strptime(match["at"], "%Y-%m-%d %H:%M:%S,%f").timestamp()
            key = (match["job"], match["component"], match["role"], int(match["version"]))
            if match["what"] == " in process":
                started[key] = at
            elif key in started:
                begin = started.pop(key)
                runs.setdefault(key[:3], []).append((begin, at, name, key[3]))
        for key, begin in started.items():  # never ended: the replica was killed meanwhile
            end = killed.get(name, time.time())
            runs.setdefault(key[:3], []).append((begin, end, name, key[3]))
    return runs


def assert_never_twice_at_once(runs: dict[Any, list[tuple[float, float, str, int]]]) -> None:
    for task, intervals in runs.items():
        for first, second in itertools.combinations(sorted(intervals), 2):
            assert first[1] <= second[0], f"{task} ran twice at once: {first} and {second}"


def task_rows(cluster: Cluster, job_id: str, component: str) -> list[Any]:
    return cluster.query(
        "SELECT f_role, f_task_version, f_party_status, f_holder FROM t_task "
        "WHERE f_job_id = :job AND f_component_name = :component ORDER BY f_task_version",
        job=job_id,
        component=component,
    )


def wait_success(cluster: Cluster, job_id: str, at: list[NodeProcess], timeout: float) -> None:
    final = {"success", "failed", "canceled", "timeout"}
    wait_for(
        lambda: all(set(statuses(node, job_id).values()) <= final for node in at),
        timeout,
        f"job {job_id} to end",
    )
    for node in at:
        assert set(statuses(node, job_id).values()) == {"success"}, (node.party_id, job_id)


def test_jobs_submitted_at_either_replica_all_succeed_and_spread(
    cluster: Cluster, overlaps: Overlaps
) -> None:
    a, b = cluster.replicas["a"], cluster.replicas["b"]
    conf = conf_v2(common={"noop_0": {"sleep_seconds": 1}})
    job_ids = [submit((a, b)[i % 2], chain(2), conf) for i in range(6)]
    for job_id in job_ids:
        # Either replica answers for every job, whichever took it.
        for replica in (a, b):
            assert set(statuses(replica, job_id)) == {"guest"}
        wait_success(cluster, job_id, [a, b, cluster.host], timeout=180)
    overlaps.stop()
    assert overlaps.samples > 10 and overlaps.found == []
    # Each replica scheduled the jobs it took, and the guest's tasks ran on both.
    schedulers = dict(cluster.query("SELECT f_job_id, f_scheduler FROM t_job WHERE f_is_initiator"))
    assert [schedulers[job_id] for job_id in job_ids] == ["a", "b"] * 3
    runs = run_intervals(cluster, killed={})
    ran_on = {replica for intervals in runs.values() for _, _, replica, _ in intervals}
    assert ran_on == {"a", "b"}, runs
    assert len(runs) == len(job_ids) * 2  # noop_0 and noop_1 of each job at the guest
    assert_never_twice_at_once(runs)
    assert cluster.query("SELECT count(*) FROM t_task WHERE f_holder IS NOT NULL") == [(0,)]


def test_a_replica_killed_mid_task_loses_it_to_the_other(
    cluster: Cluster, overlaps: Overlaps
) -> None:
    for table, node in (
        ("breast_hetero_guest", cluster.replicas["a"]),
        ("breast_hetero_host", cluster.host),
    ):
        upload(node, table)
    dsl, conf = hetero_lr_job()
    conf["role"]["arbiter"] = [HOST]
    conf["component_parameters"]["common"]["hetero_lr_0"]["max_iter"] = 20
    job_id = submit(cluster.replicas["a"], dsl, conf)
    # The arbiter logs each iteration.
    log = cluster.host.data_dir / "logs" / job_id / "arbiter" / str(HOST) / "hetero_lr_0"

    def training() -> bool:
        return (log / "INFO.log").exists() and "iteration 1" in (log / "INFO.log").read_text()

    wait_for(training, 180, "HeteroLR's second iteration")
    ((holder,),) = cluster.query(
        "SELECT f_holder FROM t_task WHERE f_job_id = :job AND f_component_name = 'hetero_lr_0' "
        "AND f_role = 'guest' AND f_holder IS NOT NULL",
        job=job_id,
    )
    victim = cluster.replicas[holder]
    survivor = cluster.replicas["b" if holder == "a" else "a"]
    victim.kill_with_its_processes()  # its task worker among them
    killed = time.time()

    wait_success(cluster, job_id, [survivor, cluster.host], timeout=300)
    recovered = time.time() - killed
    overlaps.stop()
    assert overlaps.found == []
    versions = {
        (role, version): status
        for role, version, status, _ in task_rows(cluster, job_id, "hetero_lr_0")
    }
    assert versions[("guest", 0)] == "failed"
    newest = max(version for role, version in versions if role == "guest")
    assert newest >= 1 and versions[("guest", newest)] == "success"
    runs = run_intervals(cluster, killed={holder: killed})
    guest_runs = runs[(job_id, "hetero_lr_0", "guest")]
    assert {(replica, version) for _, _, replica, version in guest_runs} >= {
        (holder, 0),
        (survivor.config_path.stem.removeprefix("replica-"), newest),
    }
    assert_never_twice_at_once(runs)
    ((scheduler,),) = cluster.query(
        "SELECT f_scheduler FROM t_job WHERE f_job_id = :job AND f_is_initiator", job=job_id
    )
    assert scheduler != holder  # the killed replica's jobs went to the survivor
    print(
        f"\nreplica {holder} (holding the guest's HeteroLR) killed: the job succeeded on the "
        f"other one {recovered:.1f} s after the kill"
    )
    # The survivor answers for the job, as every replica does.
    rows = survivor.jobs().QueryTask(
        pb.QueryTaskRequest(job_id=job_id, component_name="hetero_lr_0")
    )
    assert {row.f_task_version for row in rows.data if row.f_role == "guest"} >= {0, newest}
