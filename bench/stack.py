"""The production stack ``make bench`` runs on, started and always stopped by this module.

PostgreSQL and Redis are used as found (started with ``.ci/run``'s commands
when they are down, and then stopped again at the end); gunicorn, the Celery
worker and beat run the ``Procfile``'s commands with production settings,
each in its own process group, so that :meth:`Stack.stop` can end it with
everything it forked. The bench has a database and a Redis database of its
own (``BENCH_DATABASE_URL``, ``BENCH_REDIS_URL``), emptied at the start, so it
never touches anybody's data.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from devtools.smoke import fresh_database

__all__ = ["ROOT", "Stack", "StackFailure", "fresh_database", "procfile_commands"]

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
STOP_TIMEOUT_SECONDS = 15


class StackFailure(Exception):
    """Something the stack needs did not start or answer; the message says what."""


def procfile_commands(path: Path = ROOT / "Procfile") -> dict[str, list[str]]:
    """``{"web": [...], "worker": [...], ...}``: the bench runs what production runs."""
    commands = {}
    for line in path.read_text().splitlines():
        name, separator, command = line.partition(":")
        if separator and name.strip() and not line.startswith("#"):
            commands[name.strip()] = shlex.split(command.strip())
    return commands


def _quiet(argv: list[str]) -> bool:
    return subprocess.run(argv, capture_output=True, check=False).returncode == 0  # noqa: S603


def _wait(check, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise StackFailure(f"{what} did not come up within {seconds:.0f} s")
        time.sleep(0.3)


def _group_alive(group: int) -> bool:
    """Whether a process of the group still runs (zombies waiting to be reaped do not count)."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if int(fields[2]) == group and fields[0] != "Z":
                    return True
    return False


def _wait_until_gone(group: int, seconds: float = 5) -> None:
    deadline = time.monotonic() + seconds
    while _group_alive(group) and time.monotonic() < deadline:
        time.sleep(0.05)


class Stack:
    """Processes started for one bench run; :meth:`stop` ends every one of them.

    Use it as a context manager. ``SIGINT`` and ``SIGTERM`` raise ``KeyboardInterrupt``
    while it is open, so Ctrl-C and ``kill`` both clean up.
    """

    def __init__(self, *, log_dir: Path):
        self.log_dir = log_dir
        self.processes: dict[str, subprocess.Popen] = {}
        self._logs: dict[str, Path] = {}
        self._stop_services: list[list[str]] = []
        self._on_stop: list = []
        self._previous_handlers: dict = {}

    def __enter__(self) -> Stack:
        # SIGINT explicitly too: a shell that starts the bench in the background leaves it ignored.
        self._previous_handlers = {sig: signal.signal(sig, self._interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            for sig in self._previous_handlers:  # a second Ctrl-C must not cut the clean-up short
                signal.signal(sig, signal.SIG_IGN)
            self.stop()
        finally:
            for sig, handler in self._previous_handlers.items():
                signal.signal(sig, handler)

    @staticmethod
    def _interrupt(*_args) -> None:
        raise KeyboardInterrupt

    def on_stop(self, *callbacks) -> None:
        """Also call these when stopping (servers running in this process, such as the stand-ins)."""
        self._on_stop.extend(callbacks)

    # ---- services found on the machine
    def ensure_postgres(self, host: str = "127.0.0.1", port: int = 5432) -> None:
        ready = ["pg_isready", "-h", host, "-p", str(port), "-q"]
        if _quiet(ready):
            return
        clusters = sorted(os.listdir("/etc/postgresql")) if os.path.isdir("/etc/postgresql") else []
        if not clusters:
            raise StackFailure(f"PostgreSQL does not answer on {host}:{port} and no local cluster is installed")
        version = clusters[-1]
        print(f"  starting PostgreSQL {version} (stopped again at the end)", flush=True)
        subprocess.run(  # noqa: S603
            ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"],
            check=True,  # noqa: S607
        )
        self._stop_services.append(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "stop"])
        _wait(lambda: _quiet(ready), 30, "PostgreSQL")

    def ensure_redis(self, host: str = "127.0.0.1", port: int = 6379) -> None:
        ping = ["redis-cli", "-h", host, "-p", str(port), "ping"]
        if _quiet(ping):
            return
        print("  starting Redis (stopped again at the end)", flush=True)
        subprocess.run(  # noqa: S603
            [  # noqa: S607
                "redis-server", "--daemonize", "yes", "--bind", host, "--port", str(port),
                "--save", "", "--appendonly", "no", "--logfile", str(self.log_dir / "redis.log"),
            ],
            check=True,
        )  # fmt: skip
        self._stop_services.append(["redis-cli", "-h", host, "-p", str(port), "shutdown", "nosave"])
        _wait(lambda: _quiet(ping), 30, "Redis")

    # ---- our own processes
    def start(self, name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen:
        """Start ``argv`` (a Procfile command: its first word is looked up in the virtualenv) in its own group."""
        executable = BIN / argv[0]
        command = [str(executable) if executable.exists() else argv[0], *argv[1:]]
        log = self.log_dir / f"{name}.log"
        self._logs[name] = log
        with log.open("ab") as output:
            process = subprocess.Popen(  # noqa: S603
                command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.processes[name] = process
        return process

    def check_running(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise StackFailure(f"{name} exited with {process.returncode}:\n{self.log_tail(name)}")

    def wait_for_http(self, url: str, seconds: float = 60) -> None:
        def answers() -> bool:
            self.check_running()
            try:
                with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - our own local server
                    return True
            except urllib.error.HTTPError:
                return True
            except OSError:
                return False

        _wait(answers, seconds, url)

    def wait_for_log(self, name: str, text: str, seconds: float = 60) -> None:
        def logged() -> bool:
            self.check_running()
            return text in self._logs[name].read_text(errors="replace")

        _wait(logged, seconds, f"{name} ({text!r} in its log)")

    def log_tail(self, name: str, lines: int = 40) -> str:
        path = self._logs.get(name)
        if path is None or not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        """SIGTERM every process group, newest first; SIGKILL what is still there after a grace period."""
        for process in reversed(list(self.processes.values())):
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        for name, process in self.processes.items():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                print(f"  {name} did not stop in {STOP_TIMEOUT_SECONDS} s: killed", flush=True)
            # The group may still hold children (prefork workers) even when the leader is gone.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=5)
            _wait_until_gone(process.pid)
        self.processes.clear()
        while self._on_stop:
            with contextlib.suppress(Exception):
                self._on_stop.pop()()
        while self._stop_services:
            subprocess.run(self._stop_services.pop(), capture_output=True, check=False)  # noqa: S603
