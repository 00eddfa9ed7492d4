"""`outbound demo`, the README's first command: it dials on the wall clock against the
simulated network; Ctrl-C (or SIGTERM) pauses the campaign, lets the calls in flight end and
gives the campaign up; a second run resumes the same campaign at once."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
from pathlib import Path

from e2e_support import Outbound, wait_for

CONTACTS = 300


def dialed(outbound: Outbound) -> int:
    if not outbound.db_path.exists():
        return 0
    try:
        return int(outbound.scalar("SELECT count(*) FROM call_attempts"))
    except sqlite3.OperationalError:  # its tables are not there yet
        return 0


def stop(process: subprocess.Popen[str], sig: signal.Signals, log: Path) -> str:
    process.send_signal(sig)
    assert process.wait(timeout=60) == 0, log.read_text()
    return log.read_text()


def test_the_demo_dials_pauses_on_a_signal_and_resumes_where_it_stopped(
        outbound: Outbound, tmp_path: Path) -> None:
    first_log = tmp_path / "first.log"
    first = outbound.spawn("demo", "--contacts", CONTACTS, log=first_log, output=True)
    wait_for(lambda: dialed(outbound) >= 40, 60, "the demo to dial 40 calls")

    output = stop(first, signal.SIGINT, first_log)

    assert "starting demo campaign 1" in output
    assert "paused; run `make demo` again to resume" in output
    assert "Traceback" not in output
    assert outbound.scalar("SELECT status FROM campaigns") == "paused"
    # Released at the stop, so that the next run takes it at once.
    assert outbound.scalar("SELECT owner FROM campaigns") is None
    before = dialed(outbound)

    second_log = tmp_path / "second.log"
    second = outbound.spawn("demo", "--contacts", CONTACTS, log=second_log, output=True)
    # At 20 calls/s with 50 in flight at most: far sooner than any lease could run out.
    wait_for(lambda: dialed(outbound) >= before + 40, 15, "the second run to dial 40 more")

    output = stop(second, signal.SIGTERM, second_log)

    assert "resuming demo campaign 1" in output
    assert "paused; run `make demo` again to resume" in output
    assert outbound.scalar("SELECT count(*) FROM campaigns") == 1
    # The same campaign went on: no attempt of a contact was dialed twice.
    duplicates = outbound.scalar(
        "SELECT count(*) FROM (SELECT contact_id, attempt FROM call_attempts "
        "GROUP BY contact_id, attempt HAVING count(*) > 1)")
    assert duplicates == 0
