"""agents/common/jobs.py: independent jobs one after another, or through a local Ray (when
installed: ``pip install -e ".[ray]"``), give the same results; the benchmark runs its runs
either way."""

import json
import statistics

import pytest
from conftest import requires_mnist

from agents.common.errors import InvalidSetting
from agents.common.jobs import Job, RaySettings, run_jobs


# Jobs' functions must be module-level Python functions that Ray's workers can import (not
# this test module's), so the jobs here take the median of their numbers.
def jobs_of(*numbers: int) -> list[Job]:
    return [Job(f"j{x}", statistics.median, ([x, x * x, 0],)) for x in numbers]


def test_jobs_run_in_order_and_report_each_as_it_finishes():
    done = []
    jobs = jobs_of(3, 1, 2)
    assert run_jobs(jobs, on_done=lambda job, result: done.append((job.name, result))) == [3, 1, 2]
    assert done == [("j3", 3), ("j1", 1), ("j2", 2)]


def test_without_ray_installed_asking_for_it_is_refused_in_one_line(monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "ray", None)  # as if not installed
    with pytest.raises(InvalidSetting, match=r'--ray needs Ray.*pip install -e "\.\[ray\]"'):
        run_jobs(jobs_of(2), RaySettings(use_ray=True))


@pytest.fixture(scope="module")
def local_ray():
    ray = pytest.importorskip("ray", reason='Ray is not installed (pip install -e ".[ray]")')
    ray.init(num_cpus=2, include_dashboard=False)
    yield ray
    ray.shutdown()


def test_a_local_ray_gives_the_same_results_and_the_jobs_own_errors(local_ray):
    done = []
    on_ray = RaySettings(use_ray=True)
    assert run_jobs(jobs_of(3, 1, 2), on_ray, on_done=lambda job, _: done.append(job.name)) == [
        3,
        1,
        2,
    ]
    assert sorted(done) == ["j1", "j2", "j3"]
    pytest.importorskip("torch")
    from agents.ram import train_reinforce

    bad = (train_reinforce.Config(location_std=-1.0), "mnist")
    with pytest.raises(InvalidSetting, match=r"location stds must be > 0, got start -1\.0"):
        run_jobs([Job("bad", train_reinforce.location_stds, bad)], on_ray)


@requires_mnist
def test_the_benchmark_through_a_local_ray_writes_the_same_results(local_ray, tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("stable_baselines3")
    pytest.importorskip("matplotlib")
    from agents.experiments import benchmark_agents

    def run(ray: bool) -> dict:
        name = "ray" if ray else "here"
        config = benchmark_agents.Config(
            rows="chance", seeds=(1, 2), runs_dir=str(tmp_path), name=name, ray=ray, threads=1
        )
        benchmark_agents.main(config)
        results = {}
        for seed in (1, 2):
            found = json.loads((tmp_path / name / f"chance-seed{seed}.json").read_text())
            results[seed] = found["test_error_single_trajectory"]
        return results

    assert run(ray=True) == run(ray=False)
