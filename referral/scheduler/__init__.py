"""The scheduler's work: the deadline sweep, outbox delivery and the daily digest, and the jobs that run them.

APScheduler runs only here (``referral scheduler run``, or the demo's own process), never in web workers.
"""

from .jobs import FORK_GUARD, add_jobs, deliver_job, digest_job, retention_job, run_once, sweep_job

__all__ = ["FORK_GUARD", "add_jobs", "deliver_job", "digest_job", "retention_job", "run_once", "sweep_job"]
