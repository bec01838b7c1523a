"""``aurelia distill --ray``: the loop's samples handed to a pool of Ray actors through Ray Data.

Ray Data distributes the samples over an actor pool (``map_batches`` with a callable class and an
``ActorPoolStrategy``): balancing uneven samples, retrying a failed task and restarting a dead actor
are Ray's. Each actor opens the loop's engines once, through the process's engine pool (in-process
vLLM on its GPU share, or clients of the vLLM servers the profile names), and runs the loop on the
samples it is given; it returns each record as JSON and the driver writes them, so the run folder
keeps one writer and resumes as a local run does. A sample whose actor died mid-way runs again on
the restarted actor and its record comes out once (the loop's work has no side effect outside its
record). Every actor start is logged in ``OUT/workers.jsonl`` (host, pid, time).

Ray reaches beyond loopback unless told not to: a local pool is started with
usage statistics and the dashboard off, bound to 127.0.0.1, and without its HTTP API server (which
queries cloud metadata addresses); a cluster address given by the user is the only other address
contacted.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aurelia_local.core.errors import ConfigError

LOCAL = "local"  # ``--ray`` without an address: a pool on this machine
WORKERS_LOG = "workers.jsonl"
OBJECT_STORE_BYTES = 256 * 2**20  # records and samples are small: a small object store
RETRIES = 3  # a task retried and an actor restarted this many times before the run stops


def start_ray(address: str, cpus: int | None = None) -> None:
    """Connect to the Ray cluster at ``address``, or start a loopback-only one (``LOCAL``)."""
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    os.environ["RAY_DISABLE_USAGE_STATS"] = "1"
    if address == LOCAL:
        # Off, Ray looks its own address up through a UDP socket to a public resolver and binds to
        # what it finds. Ray reads this when imported (here and in every process it starts); a node
        # joining a cluster must find its real address, so only a local pool sets it.
        os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    try:
        import ray
        import ray._private.services as services
    except ImportError:
        raise ConfigError(
            "--ray needs Ray Data: run `scripts/setup.sh <cpu|cuda> ray` (installs requirements/ray-*.lock)"
        ) from None
    if ray.is_initialized():
        return
    if address != LOCAL:
        ray.init(address=address, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
        return
    import ray._private.ray_constants as constants

    constants.ENABLE_RAY_CLUSTER = False  # in case Ray was imported before the variable was set
    # The dashboard's API server process queries cloud metadata addresses even with the dashboard off.
    services.start_api_server = lambda *args, **kwargs: ("", None)
    ray.init(
        _node_ip_address="127.0.0.1", include_dashboard=False, num_cpus=cpus,
        object_store_memory=OBJECT_STORE_BYTES, log_to_driver=False, logging_level="ERROR",
        configure_logging=False,
    )  # fmt: skip


def stop_ray() -> None:
    """Disconnect from Ray (a local pool is shut down)."""
    import ray

    if ray.is_initialized():
        ray.shutdown()


class LoopWorker:
    """One actor of the pool: the loop's engines opened once, then one sample after another."""

    def __init__(self, settings_json: str, root: str | None, log: str):
        from aurelia_local.core.config import Settings
        from aurelia_local.engines.factory import POOL
        from aurelia_local.graphs.runner import build_loop_context, compile_loop

        self.settings = Settings.model_validate_json(settings_json)
        self.root = Path(root) if root else None
        self.loop = asyncio.new_event_loop()  # the engines' requests live on this one loop
        self.lock = threading.Lock()
        self.ctx = self.loop.run_until_complete(build_loop_context(self.settings, POOL))
        self.graph = compile_loop()  # a dead actor's samples run again whole: no checkpoint to keep
        entry = {"host": socket.gethostname(), "pid": os.getpid(), "started": time.time()}
        try:
            with open(log, "a") as handle:
                handle.write(json.dumps(entry) + "\n")
        except OSError:  # OUT is not on a filesystem this node shares: the start goes unlogged
            pass

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        """Run the loop on the samples of ``batch`` together; return their records as JSON."""
        import numpy as np

        from aurelia_local.app.distill import run_one
        from aurelia_local.core.datasets import Sample

        samples = [Sample.model_validate_json(text) for text in batch["sample"]]

        async def together():
            return await asyncio.gather(*(run_one(self.graph, self.ctx, s, self.settings, None, self.root)
                                          for s in samples))  # fmt: skip

        with self.lock:  # Ray may call from a thread of its own; the loop runs one batch at a time
            records = self.loop.run_until_complete(together())
        return {"record": np.array([r.model_dump_json() for r in records], dtype=object)}


@dataclass(frozen=True)
class RayPlan:
    """Where the pool runs (``LOCAL`` or a cluster address), its actors and each actor's GPU share."""

    address: str = LOCAL
    workers: int = 2
    gpus: float = 0.0

    def __post_init__(self):
        if self.workers < 1:
            raise ConfigError(f"--workers must be at least 1, got {self.workers}")
        if self.gpus < 0:
            raise ConfigError(f"--worker-gpus must not be negative, got {self.gpus}")


def pool_records(settings, samples: list, out: Path, root: Path | None, plan: RayPlan,
                 worker: type = LoopWorker) -> Iterator[str]:  # fmt: skip
    """Each sample's record (JSON), in the order they finish, from the pool ``plan`` describes.

    An actor (``worker``, built with ``LoopWorker``'s arguments) takes ``loop.concurrency`` samples
    at a time and runs them together.
    """
    import ray.data

    logging.getLogger("ray.data").setLevel(logging.WARNING)  # no line per dataset on the terminal
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    context.print_on_execution_start = False
    width = settings.loop.concurrency
    if 0 < plan.gpus < 1:  # actors share a GPU: each engine takes its share of the actor's part
        engine = settings.engine
        shares = {role: share * plan.gpus for role, share in engine.gpu_memory_shares.items()}
        engine = engine.model_copy(
            update={
                "gpu_memory_shares": shares,
                "gpu_memory_utilization": engine.gpu_memory_utilization * plan.gpus,
            }
        )
        settings = settings.model_copy(update={"engine": engine})
    items = ray.data.from_items([{"sample": s.model_dump_json()} for s in samples],
                                override_num_blocks=max(1, -(-len(samples) // width)))  # fmt: skip
    done = items.map_batches(
        worker, batch_size=width, compute=ray.data.ActorPoolStrategy(size=plan.workers),
        fn_constructor_kwargs={"settings_json": settings.model_dump_json(),
                               "root": str(root) if root else None, "log": str(out / WORKERS_LOG)},
        num_cpus=1, num_gpus=plan.gpus or None, max_restarts=RETRIES, max_task_retries=RETRIES,
    )  # fmt: skip
    for row in done.iter_rows():
        yield str(row["record"])
