"""The errors of the store's worker pool (:mod:`coopgraph.store.sandbox`): what a job that
did not give an answer ended with."""

from __future__ import annotations

from coopgraph.errors import CoopgraphError


class SandboxError(CoopgraphError):
    """Base class of the errors of the worker pool."""


class DeadlineExceeded(SandboxError):
    """The job ran past its deadline; its worker was killed."""


class MemoryExceeded(SandboxError):
    """The job needed more memory than a worker may take; its worker was replaced."""


class PoolBusy(SandboxError):
    """Every worker is busy and too many jobs are already waiting."""


class WorkerDied(SandboxError):
    """The worker died while running the job (it was replaced)."""


class ReplyTooLarge(SandboxError):
    """The worker's reply was larger than the pool accepts."""


class JobFailed(SandboxError):
    """The handler raised; ``error`` is the exception, re-created in this process.

    Attributes:
        error: The exception the handler raised (when it could be pickled).
        details: The worker's traceback, for logs.
    """

    def __init__(self, error: BaseException, details: str) -> None:
        self.error = error
        self.details = details
        super().__init__(str(error))
