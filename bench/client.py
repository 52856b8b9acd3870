"""A timed HTTP client for the bench, and the statistics it reports (standard library only).

One request per connection, as a browser or an integration meets gunicorn's
sync workers (they close the connection after each answer). Timing covers
connecting, sending and reading the whole body, the same for a real endpoint
and its floor.
"""

from __future__ import annotations

import dataclasses
import http.client
import json
import math
import statistics
import threading
import time
from collections.abc import Callable, Sequence


@dataclasses.dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    seconds: float

    def json(self):
        return json.loads(self.body)


def request(
    host: str,
    port: int,
    method: str,
    path: str,
    *,
    key: str | None = None,
    body: dict | None = None,
    headers: dict[str, str] | None = None,
) -> Answer:
    headers = {"Accept": "application/json", **(headers or {})}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    started = time.perf_counter()
    connection = http.client.HTTPConnection(host, port, timeout=60)
    try:
        connection.request(method, path, body=data, headers=headers)
        response = connection.getresponse()
        content = response.read()
    finally:
        connection.close()
    return Answer(response.status, content, time.perf_counter() - started)


def percentile(samples: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (``fraction`` 0.95 is the p95): a value that was actually observed."""
    if not samples:
        raise ValueError("no samples")
    ordered = sorted(samples)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def median(samples: Sequence[float]) -> float:
    return statistics.median(samples)


@dataclasses.dataclass(frozen=True)
class Burst:
    """What ``concurrently`` saw: every answer, and the wall time from the first request to the last answer."""

    answers: list[Answer]
    seconds: float

    @property
    def throughput(self) -> float:
        return len(self.answers) / self.seconds


def concurrently(jobs: Sequence[Callable[[], Answer]], *, clients: int) -> Burst:
    """Run ``jobs`` with ``clients`` threads, each taking the next job until none is left."""
    answers: list[Answer] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    queue = list(reversed(jobs))

    def client() -> None:
        while True:
            with lock:
                if not queue or errors:
                    return
                job = queue.pop()
            try:
                answer = job()
            except BaseException as error:  # noqa: BLE001 - reported to the caller below
                with lock:
                    errors.append(error)
                return
            with lock:
                answers.append(answer)

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    if errors:
        raise errors[0]
    return Burst(answers, seconds)
