"""The node's composition root: one place where the core's parts are built and wired."""

from __future__ import annotations

import logging

from fateflow_grpc.components import registry
from fateflow_grpc.config import NodeConfig
from fateflow_grpc.domain.data_jobs import DataJobs, DataJobSettings
from fateflow_grpc.domain.deploying import Deploying
from fateflow_grpc.domain.executor import Executor
from fateflow_grpc.domain.participant import NodeAccess, Participant, PartySettings
from fateflow_grpc.domain.publishing import Publishing
from fateflow_grpc.domain.replica import ReplicaRunner, ReplicaSettings
from fateflow_grpc.domain.scheduler import Scheduler, SchedulerSettings
from fateflow_grpc.federation.mailboxes import ProxyMailboxes
from fateflow_grpc.party_client import GrpcParties
from fateflow_grpc.serving_client import GrpcServing
from fateflow_grpc.storage.database import Database
from fateflow_grpc.storage.table_store import TableStore
from fateflow_grpc.worker import run_task

log = logging.getLogger(__name__)

#: What the workers' forkserver imports once, so that no task pays for it: the components,
#: the modules a task would otherwise import on first use (half the time of a no-op task, a
#: fifth of a Reader's: `grpc.insecure_channel` imports the two grpc ones, `create_engine` its
#: URL's dialect, numpy the `ma` that pyarrow's conversions ask for), and what SQLAlchemy
#: builds at its first statements (`worker_warm_up`).
WORKER_PRELOAD = (
    "fateflow_grpc.worker",
    "fateflow_grpc.worker_warm_up",
    "grpc._channel",
    "grpc.experimental",
    "numpy.ma",
    "sqlite3",
    "sqlalchemy.dialects.sqlite",
    "sqlalchemy.dialects.postgresql",
    "sqlalchemy.dialects.mysql",
)


class Node:
    """A party's core: its database, the parties it talks to, its participant and scheduler.

    `table_database` holds the table store's meta rows when the config gives the store a
    database of its own (`table_database_url`); by default they are in `database`.
    """

    def __init__(
        self, config: NodeConfig, database: Database, table_database: Database | None = None
    ) -> None:
        self.config = config
        self.database = database
        self.tables = TableStore(config.tables_path, table_database or database)
        # Both reach the proxy on its local endpoint, which only this node's processes can open.
        self.parties = GrpcParties(config.party_id, config.local_proxy_address)
        self.mailboxes = ProxyMailboxes(config.local_proxy_address)
        self.catalog = registry.catalog(with_testing=config.test_components)
        logs_dir = config.data_dir / "logs"

        def has_route(party_id: int) -> bool:
            return party_id == config.party_id or config.route(party_id) is not None

        self.participant = Participant(
            PartySettings(
                config.party_id,
                config.max_running_jobs,
                logs_dir,
                has_route,
                NodeAccess(
                    config.data_dir,
                    config.database,
                    config.local_proxy_address,
                    config.tables_path,
                    config.table_database,
                    config.spark_master,
                    config.spark_conf,
                ),
                config.security.strict,
                config.replica,
                config.task_slots,
            ),
            database,
            self.tables,
            self.catalog,
            self.parties,
            lambda on_exit: Executor(
                run_task,
                on_exit,
                size=config.workers,
                preload=WORKER_PRELOAD,
                record=config.worker_record,
            ),
            self.mailboxes,
        )
        self.scheduler = Scheduler(
            SchedulerSettings(
                config.party_id,
                config.board_address,
                logs_dir,
                config.heartbeat_interval_s,
                config.heartbeat_timeout_s,
                has_route,
                config.security.strict,
                config.replica,
            ),
            database,
            self.catalog,
            self.parties,
            self.participant,
        )
        self.data_jobs = DataJobs(
            DataJobSettings(
                config.board_address, logs_dir, config.server_file_dirs, config.replica
            ),
            database,
            self.tables,
        )
        self.replica = ReplicaRunner(
            ReplicaSettings(
                config.replica,
                config.party_id,
                config.grpc_address,
                config.heartbeat_interval_s,
                config.replica_lease_s,
            ),
            database,
            self.participant,
            lambda row, holder: self.data_jobs.lose(row.f_job_id, row.f_component_name, holder),
        )
        self.publishing = Publishing(
            config.party_id, config.servings, database, self.parties, GrpcServing()
        )
        self.deploying = Deploying(
            config.party_id, config.data_dir, database, self.catalog, self.parties
        )

    def start(self) -> None:
        """Recover what a previous run left, then schedule."""
        # A task process of a previous run must not write beside the task that replaces it.
        leftovers = self.participant.executor.end_leftovers()
        if leftovers:
            log.warning("ended %d task processes a previous run of this node left", leftovers)
        self.participant.executor.warm_up()
        self.replica.register()
        self.participant.recover()
        self.data_jobs.recover()
        self.scheduler.start()
        self.replica.start()

    def close(self) -> None:
        self.scheduler.close()
        self.replica.stop()
        self.participant.close()
        self.replica.leave()
        self.parties.close()
        self.mailboxes.close()
