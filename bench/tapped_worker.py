"""`outbound worker`, with a tap on the simulated network: the wall-clock moment of every
originate, written at exit to the file $BENCH_ORIGINATES names (one "attempt_id moment" line
each).

call_attempts.started_at is the `now` of the engine's step that dialed: every dial of a step
carries the same moment, however long the step took. The tap sees when each call actually left
for the network, which is what a carrier counts in its one-second windows. It costs a clock
read and two appends per call.

    OUTBOUND_DATA_DIR=… BENCH_ORIGINATES=/tmp/o.txt python bench/tapped_worker.py worker
"""

from __future__ import annotations

import atexit
import os
import sys
import time
from array import array
from pathlib import Path

from outbound import cli
from outbound.telephony.port import OriginateRequest
from outbound.telephony.sim import SimulatedNetwork

ENV = "BENCH_ORIGINATES"


def tap(out: Path) -> None:
    attempts, moments = array("q"), array("d")
    originate = SimulatedNetwork.originate

    def tapped(self: SimulatedNetwork, request: OriginateRequest) -> str:
        moments.append(time.time())
        attempts.append(request.attempt_id)
        return originate(self, request)

    def dump() -> None:
        out.write_text("".join(f"{a} {m!r}\n" for a, m in zip(attempts, moments, strict=True)))

    SimulatedNetwork.originate = tapped  # type: ignore[method-assign]
    atexit.register(dump)


if __name__ == "__main__":
    tap(Path(os.environ[ENV]))
    sys.argv[0] = "outbound"
    cli.main()
