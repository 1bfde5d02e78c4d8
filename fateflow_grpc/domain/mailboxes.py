"""What the domain asks of the party proxy's mailboxes: the `Mailboxes` protocol.

Federation objects that other parties sent to this party's tasks wait in its proxy's
mailboxes until read. When a job ends here, whatever its tasks did not read goes; the node
gives the participant an implementation that asks its own proxy (`fateflow_grpc/federation/`).
"""

from __future__ import annotations

from typing import Protocol


class Mailboxes(Protocol):
    def clean_job(self, job_id: str) -> None:
        """Remove the job's mailboxes. Never raises: cleaning is best effort, and a failure is
        logged (the job has ended whether or not its leftovers could be removed)."""
        ...

    def open_job(self, job_id: str) -> None:
        """Take the job's objects again, after its mailboxes were cleaned: it is rerun. Raises
        FederatedError when the proxy cannot be asked (a rerun must not start without it)."""
        ...
