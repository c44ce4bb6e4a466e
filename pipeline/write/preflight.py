"""Before a cluster run reads a document: prove that every worker can write the run folder.

Executors write ledger parts, indexes and shards straight into the run folder, so a local run
folder must be on a file system that every worker mounts at the same path, and a run folder on
object storage must be writable with every worker's credentials. Each worker writes a probe file
into the run's work folder through the run's store (never creating a local folder, so a worker
without the path leaves nothing behind) and the driver looks for it through the same store: a
worker that cannot write, or whose write the driver cannot see (a private folder of the same name),
stops the run in seconds with a message naming the worker, instead of failing after all the work
with a bare FileNotFoundError.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from typing import Any

from pipeline.engines.base import Engine
from pipeline.layout import WORK_DIR
from pipeline.write.run_dir import RunDirError
from pipeline.write.store import RunStore

PROBE_PREFIX = "preflight-"


@dataclass(frozen=True)
class WriteProbe:
    """Runs on a worker: write one probe file into the run's work folder, say where it ran."""

    store: RunStore
    epoch: int

    def __call__(self, index: int) -> dict[str, Any]:
        host = socket.gethostname()
        name = f"{PROBE_PREFIX}{self.epoch}-{host}-{os.getpid()}-{index}"
        try:
            self.store.create(f"{WORK_DIR}/{name}", host.encode())
        except FileExistsError:
            pass  # the same worker process ran two probes of one index: its first write counts
        except OSError as exc:
            return {"host": host, "probe": name, "error": f"{type(exc).__name__}: {exc.strerror or exc}"}
        return {"host": host, "probe": name, "error": None}


def check_workers_write(engine: Engine, store: RunStore, epoch: int) -> list[str]:
    """The hosts that proved they write the run folder; RunDirError naming every worker that cannot."""
    try:
        results = engine.on_every_worker(WriteProbe(store, epoch))
        seen = set(store.names(WORK_DIR))
        failed = [r for r in results if r["error"]]
        unseen = [r for r in results if not r["error"] and r["probe"] not in seen]
    finally:
        for name in store.names(WORK_DIR):
            if name.startswith(PROBE_PREFIX):
                store.remove(f"{WORK_DIR}/{name}")
    problems = [f"{r['host']} cannot write it ({r['error']})" for r in failed]
    problems += [
        f"{r['host']} wrote {r['probe']} into a folder of the same name that the driver does not see"
        for r in unseen
    ]
    if problems:
        raise RunDirError(
            f"the run folder {store.location} is not shared with every worker of the {engine.name} cluster: "
            f"{'; '.join(sorted(set(problems)))}. Give --out a path that every worker mounts at the "
            "same place (a shared file system) or an object-store URL (s3://...) every worker can write, "
            "or run on the local engine"
        )
    return sorted({r["host"] for r in results})
