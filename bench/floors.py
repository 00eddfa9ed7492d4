"""The store's floor under the dialer: the engine's own transactions in a tight loop on one
thread, through the same repository calls, with no engine, event loop or network around them.

- a claim: BEGIN (IMMEDIATE on SQLite); the claim's UPDATE … RETURNING; COMMIT;
- a dial: the transaction `Dialer._claim_one` runs for a customer-first dial (claim, attempt
  row, the campaign's pacer state);
- a call's store work: that dial, then the event transactions of its call, in the simulated
  network's fate mix (harness.NETWORK): of every 20 calls 7 are answered (ringing; answered;
  agent reserved and bridged; completed), 3 busy (completed) and 10 not answered (ringing;
  completed). Every completion writes its outbox row, as the engine's does.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import harness

from outbound.domain.contacts import Backoff, Outcome, after_call
from outbound.domain.settings import Transfer, TransferKind
from outbound.routing.router import candidates, resolve_target
from outbound.store import Store
from outbound.store.dialing import AttemptRef, Claimed

LEASE_SECONDS = 30.0
# Fates of 20 consecutive calls: answered, busy, not answered as 7 : 3 : 10 (harness.NETWORK).
FATES = (Outcome.COMPLETED,) * 7 + (Outcome.BUSY,) * 3 + (Outcome.NO_ANSWER,) * 10
SIP = {Outcome.COMPLETED: 200, Outcome.NO_ANSWER: 480, Outcome.BUSY: 486}


class Floors:
    """The engine's transactions on one campaign's pending contacts, one contact each."""

    def __init__(self, store: Store, campaign_id: int, account_id: int,
                 department: str = "Sales") -> None:
        self.store = store
        self.campaign_id = campaign_id
        self.account_id = account_id
        self.target = resolve_target(Transfer(TransferKind.DEPARTMENT, department),
                                     store.agents.directory(account_id))
        self._tat = 0.0
        self._calls = 0

    def claim(self) -> Claimed | None:
        dialing = self.store.dialing
        now = time.time()
        with dialing.pinned.write() as conn:
            return dialing.claim(conn, self.campaign_id, self.account_id, now,
                                 now + LEASE_SECONDS, retry=False)

    def dial(self) -> tuple[Claimed, int] | None:
        dialing = self.store.dialing
        now = time.time()
        with dialing.pinned.write() as conn:
            claimed = dialing.claim(conn, self.campaign_id, self.account_id, now,
                                    now + LEASE_SECONDS, retry=False)
            if claimed is None:
                return None
            attempt_id = dialing.start_attempt(conn, self.campaign_id, claimed,
                                               "+14155550100", now)
            self._tat = max(self._tat, now) + 0.05
            self.store.campaigns.save_dial_state(conn, self.campaign_id, 0, self._tat)
        return claimed, attempt_id

    def call(self) -> bool:
        dialed = self.dial()
        if dialed is None:
            return False
        claimed, attempt_id = dialed
        fate = FATES[self._calls % len(FATES)]
        self._calls += 1
        dialing = self.store.dialing
        ref = AttemptRef(attempt_id, self.campaign_id, claimed.contact_id, claimed.attempt,
                         None, False)
        call_id = f"floor-{attempt_id}"
        now = time.time()
        if fate is not Outcome.BUSY:
            dialing.mark_ringing(ref, call_id, now, now + LEASE_SECONDS)
        if fate is Outcome.COMPLETED:
            dialing.mark_answered(ref, call_id, now, now + LEASE_SECONDS)
            with dialing.pinned.write() as conn:
                agent = dialing.reserve_agent(
                    conn, self.account_id, attempt_id,
                    candidates(self.target, None, strict_preference=False))
                assert agent is not None, "the floor's department has no free agent"
                dialing.mark_bridged(attempt_id, now, conn)
        after = after_call(fate, claimed.attempt, 1, Backoff(), now)
        return dialing.finish(ref, fate, after, now, sip_code=SIP[fate], phone=claimed.phone,
                              duration=0.2 if fate is Outcome.COMPLETED else None)


def throughput(operation: Callable[[], Any], count: int) -> dict[str, float]:
    """Run `operation` `count` times (fewer if it returns a falsy value: nothing left);
    operations per wall second, CPU microseconds and bytes written (SQLite's WAL and its
    checkpoints) per operation."""
    done = 0
    written = harness.ProcessCounters.of().written
    cpu = time.process_time()
    began = time.perf_counter()
    for _ in range(count):
        if not operation():
            break
        done += 1
    wall = time.perf_counter() - began
    cpu = time.process_time() - cpu
    written = harness.ProcessCounters.of().written - written
    return {"operations": done, "per_second": round(done / wall, 1) if wall else 0.0,
            "cpu_us_per_operation": round(cpu / done * 1e6, 1) if done else 0.0,
            "written_kib_per_operation": round(written / done / 1024, 1) if done else 0.0}


def latencies(operation: Callable[[], Any], count: int, warmup: int = 100) -> list[float]:
    """Seconds each of `count` operations took, after `warmup` untimed ones."""
    for _ in range(warmup):
        operation()
    timings = []
    for _ in range(count):
        began = time.perf_counter()
        if not operation():
            break
        timings.append(time.perf_counter() - began)
    return timings


def measure(store: Store, campaign_id: int, account_id: int, count: int) -> dict[str, Any]:
    """All three floors, `count` operations each, on a campaign with ≥ 3 × count + 100
    pending contacts (each operation takes one)."""
    floors = Floors(store, campaign_id, account_id)
    for _ in range(100):  # warm the statement caches and the connection
        floors.claim()
    return {"claim": throughput(floors.claim, count), "dial": throughput(floors.dial, count),
            "call": throughput(floors.call, count)}
