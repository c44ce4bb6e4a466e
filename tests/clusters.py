"""Real local clusters for tests: a Spark standalone master and worker, and a Ray head node.

Each is started as the cluster's own processes (``spark-class ...Master`` / ``...Worker`` and
``ray start --head``), not an in-process local mode, so drivers, executors and raylets are separate
processes as on a real cluster. A Spark worker can be started in a private mount namespace with a
folder hidden behind an empty tmpfs: a worker without the driver's file system.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pyspark
import pytest

SPARK_CLASS = Path(pyspark.__file__).parent / "bin" / "spark-class"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for_port(port: int, process: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"cluster process exited with {process.returncode}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.3)
    raise RuntimeError(f"nothing listens on port {port} after {seconds} s")


def can_hide_folders() -> bool:
    """Whether this process may make private mount namespaces (root with ``unshare``)."""
    return os.geteuid() == 0 and shutil.which("unshare") is not None


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def spark_standalone(work: Path, env: dict[str, str], hide: Path | None = None) -> Iterator[str]:
    """A master and one worker of 2 cores; the master URL. ``hide`` is empty for the worker."""
    if shutil.which("java") is None:
        pytest.skip("Java is needed for a Spark standalone cluster")
    work.mkdir(parents=True, exist_ok=True)
    port = free_port()
    environment = {**os.environ, **env, "PYSPARK_PYTHON": sys.executable, "SPARK_LOCAL_IP": "127.0.0.1"}
    master = subprocess.Popen(
        [str(SPARK_CLASS), "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
         "--port", str(port), "--webui-port", str(free_port())],
        env=environment, stdout=(work / "master.log").open("wb"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    worker = None
    try:
        _wait_for_port(port, master)
        url = f"spark://127.0.0.1:{port}"
        command = [
            str(SPARK_CLASS), "org.apache.spark.deploy.worker.Worker", url, "--cores", "2", "--memory", "3g",
            "--webui-port", str(free_port()), "--work-dir", str(work / "worker"),
        ]  # fmt: skip
        if hide is not None:
            script = f'mount -t tmpfs tmpfs "{hide}" && exec "$@"'
            command = ["unshare", "-m", "--propagation", "private", "sh", "-c", script, "worker", *command]
        worker = subprocess.Popen(
            command, env=environment, stdout=(work / "worker.log").open("wb"), stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 60
        while b"Successfully registered with master" not in (work / "worker.log").read_bytes():
            if time.monotonic() > deadline or worker.poll() is not None:
                raise RuntimeError(f"the Spark worker did not register: {(work / 'worker.log').read_text()}")
            time.sleep(0.3)
        yield url
    finally:
        if worker is not None:
            _stop(worker)
        _stop(master)


@contextmanager
def ray_head(work: Path, env: dict[str, str]) -> Iterator[str]:
    """``ray start --head`` with 2 CPUs; the address a driver joins. Stopped with ``ray stop``."""
    ray = Path(sys.executable).with_name("ray")
    port = free_port()
    environment = {**os.environ, **env}
    if (Path.home() / ".ray" / "auth_token").exists():
        environment["RAY_AUTH_MODE"] = "token"
    work.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [str(ray), "start", "--head", "--port", str(port), "--num-cpus", "2", "--include-dashboard=false",
         "--disable-usage-stats", "--node-ip-address", "127.0.0.1"],
        env=environment, check=True, stdout=(work / "ray.log").open("wb"), stderr=subprocess.STDOUT,
        timeout=120,
    )  # fmt: skip
    client_mode = os.environ.get("RAY_AUTH_MODE")
    os.environ.update({k: v for k, v in environment.items() if k == "RAY_AUTH_MODE"})  # clients need it too
    try:
        yield f"127.0.0.1:{port}"
    finally:
        subprocess.run([str(ray), "stop", "--force"], env=environment, capture_output=True, timeout=120)
        if client_mode is None:
            os.environ.pop("RAY_AUTH_MODE", None)
        else:
            os.environ["RAY_AUTH_MODE"] = client_mode
