"""The bench's own logic that needs no running stack: statistics, data shapes, the stack's clean-up."""

import datetime as dt
import os
import signal
import time
import zoneinfo

import pytest

from bench import client, dataset
from bench.measurements import engine, reminders
from bench.stack import Stack, procfile_commands


def test_percentile_is_the_nearest_observed_rank():
    samples = list(range(1, 101))

    assert client.percentile(samples, 0.95) == 95
    assert client.percentile(samples, 0.5) == 50
    assert client.percentile([7.0], 0.95) == 7.0
    assert client.percentile([3, 1, 2], 1.0) == 3
    with pytest.raises(ValueError):
        client.percentile([], 0.95)


def test_concurrently_runs_every_job_once_on_the_given_number_of_threads():
    import threading

    seen, lock = [], threading.Lock()
    threads = set()

    def job(number):
        def run():
            time.sleep(0.01)
            with lock:
                seen.append(number)
                threads.add(threading.get_ident())
            return client.Answer(200, b"", 0.01)

        return run

    burst = client.concurrently([job(number) for number in range(20)], clients=4)

    assert sorted(seen) == list(range(20))
    assert len(burst.answers) == 20
    assert 1 < len(threads) <= 4
    assert burst.throughput == pytest.approx(20 / burst.seconds)


def test_concurrently_reports_a_failing_job():
    def broken():
        raise ConnectionRefusedError("gone")

    with pytest.raises(ConnectionRefusedError):
        client.concurrently([broken] * 3, clients=2)


def test_evening_bookings_never_overlap_and_stay_clear_of_the_working_hours_with_their_buffer():
    length = dt.timedelta(minutes=dataset.BOOKED_MINUTES)
    starts = dataset.evening_starts(count=2_000, first_day=dt.date(2026, 3, 1), days=90, length=length)
    berlin = zoneinfo.ZoneInfo(dataset.INSTRUCTOR_TIMEZONE)
    buffer = dt.timedelta(minutes=15)

    assert len(starts) == 2_000
    assert all(later >= earlier + length for earlier, later in zip(starts, starts[1:], strict=False))
    for start in starts:  # the 2026-03-29 DST change is inside these 90 days
        first, last = (start - buffer).astimezone(berlin), (start + length + buffer).astimezone(berlin)
        assert first.date() != last.date() or first.time() >= dt.time(17) or last.time() <= dt.time(9)


def test_evening_bookings_refuse_more_than_the_evenings_hold():
    with pytest.raises(ValueError):
        dataset.evening_starts(count=30 * 10, first_day=dt.date(2026, 3, 1), days=10, length=dt.timedelta(minutes=30))


def test_engine_rows_compare_each_count_with_linear_growth_from_the_smallest():
    rows = engine.rows({100: 2.0, 1_000: 4.0, 10_000: 250.0})

    assert [row.floor for row in rows] == [None, 20.0, 200.0]
    assert [row.met for row in rows] == [None, True, False]
    assert rows[2].ratio == pytest.approx(1.25)


def test_peak_in_flight_counts_calls_whose_handling_overlapped():
    assert reminders.peak_in_flight([], 0.1) == 0
    assert reminders.peak_in_flight([0.0, 0.15, 0.3, 0.45], 0.1) == 1
    assert reminders.peak_in_flight([0.0, 0.01, 0.02, 0.5, 0.55], 0.1) == 3


def test_the_stack_runs_what_the_procfile_runs():
    commands = procfile_commands()

    assert commands["web"][:2] == ["gunicorn", "booking_project.wsgi"]
    assert commands["worker"][:3] == ["celery", "-A", "booking_project"]
    assert "beat" in commands["beat"]


def test_stopping_the_stack_ends_each_process_with_everything_it_forked(tmp_path):
    pid_file = tmp_path / "child.pid"
    stopped = []
    with Stack(log_dir=tmp_path) as stack:
        process = stack.start("sleeper", ["sh", "-c", f"sleep 60 & echo $! > {pid_file}; wait"], dict(os.environ))
        stack.on_stop(lambda: stopped.append(True))
        deadline = time.monotonic() + 5
        while not (pid_file.exists() and pid_file.read_text().strip()) and time.monotonic() < deadline:
            time.sleep(0.05)
        child = int(pid_file.read_text())

    assert process.poll() is not None
    assert stopped == [True]
    assert not _alive(child)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie is gone for good, only not yet reaped by its parent
        return stat.read().split()[2] != "Z"


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_or_kill_stops_the_stack(tmp_path, sig):
    before = signal.getsignal(sig)
    with pytest.raises(KeyboardInterrupt), Stack(log_dir=tmp_path) as stack:
        process = stack.start("sleeper", ["sleep", "60"], dict(os.environ))
        os.kill(os.getpid(), sig)
        time.sleep(5)  # the signal interrupts this

    assert process.poll() is not None
    assert signal.getsignal(sig) is before
