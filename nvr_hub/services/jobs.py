"""Background batch jobs (batch delete) with progress a client can poll."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from nvr_hub.tasks import cancel_and_wait

_LOGGER = logging.getLogger(__name__)
_KEEP_FINISHED = 100


@dataclass
class Job:
    """Progress of one batch job."""

    job_id: str
    total: int
    status: str = "pending"  # pending, running, complete, error
    current: int = 0
    succeeded: int = 0
    failed: int = 0
    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        """The documented progress object."""
        out: dict[str, Any] = {
            "job_id": self.job_id,
            "status": self.status,
            "total": self.total,
            "current": self.current,
            "succeeded": self.succeeded,
            "failed": self.failed,
            "complete": self.status in ("complete", "error"),
        }
        if self.error:
            out["error"] = self.error
        return out


class JobRunner:
    """Runs jobs as kept tasks; `close` cancels and awaits whatever still runs."""

    def __init__(self) -> None:
        self._jobs: dict[str, Job] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def get(self, job_id: str) -> Job | None:
        """A job by id."""
        return self._jobs.get(job_id)

    def start(
        self, items: Sequence[int], step: Callable[[list[int]], Awaitable[int]], chunk: int = 50
    ) -> Job:
        """Process `items` in chunks with `step` (returns how many succeeded)."""
        job = Job(job_id=uuid.uuid4().hex, total=len(items))
        self._jobs[job.job_id] = job
        finished = [j for j in self._jobs.values() if j.status in ("complete", "error")]
        for old in finished[:-_KEEP_FINISHED]:
            self._jobs.pop(old.job_id, None)
        task = asyncio.get_running_loop().create_task(self._run(job, list(items), step, chunk))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return job

    async def _run(
        self, job: Job, items: list[int], step: Callable[[list[int]], Awaitable[int]], chunk: int
    ) -> None:
        job.status = "running"
        try:
            for i in range(0, len(items), chunk):
                part = items[i : i + chunk]
                ok = await step(part)
                job.current += len(part)
                job.succeeded += ok
                job.failed += len(part) - ok
            job.status = "complete"
        except Exception as err:
            _LOGGER.exception("Batch job %s failed", job.job_id)
            job.status, job.error = "error", str(err)

    async def close(self) -> None:
        """Cancel running jobs and wait for them."""
        await cancel_and_wait(*self._tasks)
