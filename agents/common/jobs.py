"""Independent training jobs (a benchmark's runs, a paper table's rows): one after another in
this process, or through Ray (``pip install -e ".[ray]"``), the engine RLlib and Tune run on.

With Ray, the jobs go to a local Ray on this machine's cores (``ray_address`` None) or to the
cluster at ``ray_address``, each job taking ``cpus_per_job`` cores. Every job writes its own run
folder and resumes from it, so an interrupted batch is rerun with the same command; on a cluster
the runs folder must be on a filesystem every node sees. A job's exception stops the batch and
is raised here, as without Ray.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from agents.common.errors import InvalidSetting


@dataclass(frozen=True)
class Job:
    """One call ``function(*args)``: a module-level function, so Ray can send it by name."""

    name: str
    function: Callable[..., Any]
    args: tuple = ()


@dataclass(frozen=True)
class RaySettings:
    """Where jobs run: here one at a time (``use_ray`` False), or on Ray."""

    use_ray: bool = False
    address: str | None = None
    """A Ray cluster's address ("auto": the one this machine belongs to); None: a local Ray."""
    cpus_per_job: int = 1
    """Cores Ray gives each job (the trainers' --threads should match)."""


def run_jobs(
    jobs: list[Job],
    ray: RaySettings = RaySettings(),
    on_done: Callable[[Job, Any], None] | None = None,
) -> list[Any]:
    """The result of every job, in ``jobs``' order; ``on_done(job, result)`` runs here as each
    job finishes (in the order they finish), say to rewrite a results table."""
    if not ray.use_ray:
        results = []
        for job in jobs:
            results.append(job.function(*job.args))
            if on_done is not None:
                on_done(job, results[-1])
        return results
    engine = start_ray(ray)
    remote = {
        engine.remote(num_cpus=ray.cpus_per_job)(job.function).remote(*job.args): index
        for index, job in enumerate(jobs)
    }
    results: list[Any] = [None] * len(jobs)
    pending = list(remote)
    while pending:
        finished, pending = engine.wait(pending, num_returns=1)
        index = remote[finished[0]]
        try:
            results[index] = engine.get(finished[0])
        except engine.exceptions.RayTaskError as error:  # the job's own exception, unwrapped
            cause = getattr(error, "cause", None)
            raise (cause if isinstance(cause, Exception) else error) from None
        if on_done is not None:
            on_done(jobs[index], results[index])
    return results


def start_ray(settings: RaySettings):
    """The ``ray`` module, connected to the Ray of ``settings`` (started here if local, once per
    process); InvalidSetting if Ray is not installed or no cluster answers at the address. The
    trainers call it before they write anything, so that either is refused at once."""
    try:
        import ray
    except ImportError:
        raise InvalidSetting(
            '--ray needs Ray, which is not installed: pip install -e ".[ray]"'
        ) from None
    if not ray.is_initialized():
        try:
            ray.init(address=settings.address, include_dashboard=False, log_to_driver=True)
        except ConnectionError as error:
            raise InvalidSetting(
                f"--ray-address {settings.address}: no Ray cluster answers there ({error})"
            ) from None
    return ray
