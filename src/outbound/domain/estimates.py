"""Online estimates of a campaign's rings and talks for the governor: what share of dials answer
and after how long, and how long an answered call keeps its agent busy (talk and wrap-up).

Each estimate is a fixed set of duration bins, so memory and work per question are bounded.
Old observations fade by time (exponential decay with a half-life), since answer rates drift
through a day. Calls still ringing and talks still running are passed in when a question is
asked and count as unfinished (right-censored): otherwise the short calls, which end first,
would make answers look quicker and agents look free sooner than they are.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

HALF_LIFE = 1800.0  # seconds; an observation half an hour old weighs half a new one
_REBASE = 64.0  # half-lives between rebasings of the stored weights (2**64 stays exact enough)

# Bin edges in seconds. A ring lasts at most the longest ring timeout (120 s); talks are fine
# where most of them end and coarse in the long tail. A value past the last edge counts in the
# last bin.
RING_EDGES: tuple[float, ...] = tuple(float(s) for s in range(0, 122, 2))
TALK_EDGES: tuple[float, ...] = tuple(
    [float(s) for s in range(0, 300, 5)]
    + [float(s) for s in range(300, 1200, 30)]
    + [float(s) for s in range(1200, 3601, 120)]
)


class _Decayed:
    """Rows of weights over duration bins, fading with a half-life.

    Forward decay: an observation at `t` is stored with weight 2**((t - origin)/half_life), so a
    new observation never rescales the old ones; reading divides by the same factor at `now`.
    Every estimate here is a ratio of such weights, where the factor cancels out.
    """

    __slots__ = ("_ended", "_origin", "_risk", "edges", "half_life", "rows")

    def __init__(self, edges: Sequence[float], half_life: float, rows: int) -> None:
        if len(edges) < 2 or any(b <= a for a, b in pairwise(edges)):
            raise ValueError("bin edges must be at least two, increasing")
        if not half_life > 0:
            raise ValueError("the half-life must be positive")
        self.edges = tuple(edges)
        self.half_life = half_life
        self.rows = [[0.0] * (len(edges) - 1) for _ in range(rows)]
        self._origin: float | None = None
        self._risk: list[float] | None = None  # cached: weight still going at each bin's start
        self._ended: list[float] | None = None  # cached: weight ended by either cause, per bin

    def bin(self, value: float) -> int:
        return min(max(bisect_right(self.edges, value) - 1, 0), len(self.edges) - 2)

    def scale(self, now: float) -> float:
        """The stored weight of an observation made at `now`."""
        if self._origin is None:
            return 1.0
        return float(2.0 ** ((now - self._origin) / self.half_life))

    def add(self, row: int, value: float, now: float) -> None:
        if self._origin is None:
            self._origin = now
        elif now - self._origin > _REBASE * self.half_life:
            shrink = 1.0 / self.scale(now)
            self.rows = [[w * shrink for w in r] for r in self.rows]
            self._origin = now
        self.rows[row][self.bin(value)] += self.scale(now)
        self._risk = self._ended = None

    def ended(self, cause: int, other: int | None) -> list[float]:
        """Per bin, the stored weight that ended by `cause` or `other` (cached per pair of
        rows; each estimator asks for one pair only)."""
        if self._ended is None:
            rows = self.rows
            self._ended = (
                list(rows[cause]) if other is None
                else [a + b for a, b in zip(rows[cause], rows[other], strict=True)]
            )
        return self._ended

    def weight(self, row: int, now: float) -> float:
        """The decayed weight of a row, an observation made at `now` counting 1."""
        return sum(self.rows[row]) / self.scale(now)

    def at_risk(self) -> list[float]:
        """For each bin, the stored weight of everything that lasted at least to its start."""
        if self._risk is None:
            risk = [0.0] * (len(self.edges) - 1)
            total = 0.0
            for j in range(len(risk) - 1, -1, -1):
                total += sum(r[j] for r in self.rows)
                risk[j] = total
            self._risk = risk
        return self._risk


@dataclass(frozen=True, slots=True)
class Curve:
    """A life table read at bin edges and interpolated between them.

    `survival[j]` is the chance of still going (ringing, talking) at `edges[j]`; `incidence[j]`
    the chance of having ended by then for the cause of interest (an answer). The lists cover
    the edges up to the last one asked for; later times read their last value. `running` are
    the unfinished ones it counted, grouped by bin: (their mean age, how many).
    """

    edges: tuple[float, ...]
    survival: list[float]
    incidence: list[float]
    running: tuple[tuple[float, int], ...] = ()

    def surviving(self, t: float) -> float:
        return _read(self.edges, self.survival, t)

    def incident(self, t: float) -> float:
        return _read(self.edges, self.incidence, t)

    def still_going(self, age: float, h: float) -> float:
        """P(still going at age + h | still going at age); 1 where the data says nothing."""
        now = self.surviving(age)
        if now <= 0.0:
            return 1.0
        return min(1.0, self.surviving(age + h) / now)

    def ending_for_cause(self, age: float, h: float) -> float:
        """P(ends for the cause of interest within h | still going at age)."""
        now = self.surviving(age)
        if now <= 0.0:
            return 0.0
        return max(0.0, min(1.0, (self.incident(age + h) - self.incident(age)) / now))


def _life_table(
    data: _Decayed, cause: int, other: int | None, censored: int | None,
    running: Sequence[float], until: float, now: float,
) -> Curve:
    """The actuarial life table up to `until`: hazard in a bin = ended / (at risk - censored/2),
    counting `running` (ages of what is still going) as censored at their age.

    With one cause this is Kaplan–Meier on bins; with two (answered, ended unanswered) it is the
    Aalen–Johansen estimate of the chance to end by the cause of interest (competing risks).
    """
    edges = data.edges
    last = data.bin(until)
    top = len(edges) - 2
    weight = data.scale(now)  # a running observation weighs as one made now
    # Grouped by bin, so that what is asked of the running ones later costs per bin, not per
    # call; a group stands at its members' mean age, which lies in their bin.
    groups: dict[int, list[float]] = {}
    for age in running:
        b = bisect_right(edges, age) - 1
        b = top if b > top else 0 if b < 0 else b
        group = groups.get(b)
        if group is None:
            groups[b] = [1.0, age]
        else:
            group[0] += 1.0
            group[1] += age
    # Running ages past `last` stay in `left`: at risk in every bin asked for, censored in none.
    counts = [0.0] * (last + 1)
    for b, (n, _) in groups.items():
        if b <= last:
            counts[b] = n * weight
    left = len(running) * weight
    risk = data.at_risk()
    hits = data.rows[cause]
    ends = data.ended(cause, other)
    cuts = data.rows[censored] if censored is not None else [0.0] * len(risk)
    survival = [1.0]
    incidence = [0.0]
    alive, got = 1.0, 0.0
    for j in range(last + 1):
        exposed = risk[j] + left - (cuts[j] + counts[j]) / 2.0
        ended = ends[j]
        if exposed > 0.0 and ended > 0.0:
            got += alive * hits[j] / exposed
            alive *= max(0.0, 1.0 - ended / exposed)
        survival.append(alive)
        incidence.append(got)
        left -= counts[j]
    grouped = tuple((total / n, int(n)) for n, total in groups.values())
    return Curve(edges, survival, incidence, grouped)


class Rings:
    """What becomes of a dial: answered after how long, or ended unanswered after how long.

    The answer share and the time to answer come from one table, so that the chance that a
    call which has rung r seconds is answered in the next h seconds is consistent with both:
    busy lines and failures end early, so a call still ringing late is likelier than the
    average dial to be one that answers late or rings out.
    """

    __slots__ = ("_data", "_moments", "answered", "finished")

    ANSWERED, UNANSWERED = 0, 1

    def __init__(self, half_life: float = HALF_LIFE, edges: Sequence[float] = RING_EDGES) -> None:
        self._data = _Decayed(edges, half_life, rows=2)
        self._moments: tuple[float, ...] | None = None
        self.answered = 0  # answered dials seen, undecayed (for the warm-up)
        self.finished = 0  # dials that finished ringing, undecayed

    def record(self, ring_time: float, answered: bool, now: float) -> None:
        """A dial finished ringing after `ring_time` seconds (from when it was placed)."""
        self._data.add(self.ANSWERED if answered else self.UNANSWERED, ring_time, now)
        self.answered += answered
        self.finished += 1
        self._moments = None

    def answer_share(self, now: float) -> float:
        """Answered / dials that finished ringing, old ones fading; 0 before any."""
        answered = self._data.weight(self.ANSWERED, now)
        total = answered + self._data.weight(self.UNANSWERED, now)
        return answered / total if total > 0 else 0.0

    def answer_moments(self) -> tuple[float, ...]:
        """Three moments that stand for when an answered dial answers: the 1/6, 1/2 and 5/6
        quantiles of the ring time of answered dials (old ones fading); () before any."""
        if self._moments is None:
            edges, row = self._data.edges, self._data.rows[self.ANSWERED]
            total = sum(row)
            moments: list[float] = []
            if total > 0:
                seen, j = 0.0, 0
                for share in (1 / 6, 1 / 2, 5 / 6):
                    goal = share * total
                    while seen + row[j] < goal:
                        seen += row[j]
                        j += 1
                    inside = (goal - seen) / row[j]
                    moments.append(edges[j] + inside * (edges[j + 1] - edges[j]))
            self._moments = tuple(moments)
        return self._moments

    def curve(self, ringing: Sequence[float], until: float, now: float) -> Curve:
        """The table up to `until` seconds of ringing, `ringing` (ages of calls not yet
        answered) counting as unfinished."""
        return _life_table(self._data, self.ANSWERED, self.UNANSWERED, None, ringing, until, now)


class Talks:
    """How long an answered call keeps its agent (talk and wrap-up): a Kaplan–Meier survival
    curve on bins, talks still running counting as unfinished when a question is asked."""

    __slots__ = ("_data", "finished")

    ENDED, CUT = 0, 1

    def __init__(self, half_life: float = HALF_LIFE, edges: Sequence[float] = TALK_EDGES) -> None:
        self._data = _Decayed(edges, half_life, rows=2)
        self.finished = 0  # talks seen to their end, undecayed (for the warm-up)

    def record(self, duration: float, now: float, *, ended: bool = True) -> None:
        """A talk lasted `duration` seconds; `ended=False` if it was cut from view before its
        end (its agent's state was lost, say) and only tells that it lasted at least that."""
        self._data.add(self.ENDED if ended else self.CUT, duration, now)
        self.finished += ended

    def curve(self, talking: Sequence[float], until: float, now: float) -> Curve:
        """The survival curve up to `until` seconds, `talking` (ages of talks still running)
        counting as unfinished."""
        return _life_table(self._data, self.ENDED, None, self.CUT, talking, until, now)


def _read(edges: tuple[float, ...], values: list[float], t: float) -> float:
    i = bisect_right(edges, t) - 1
    if i + 1 >= len(values):
        return values[-1]
    if i < 0:
        return values[0]
    low = edges[i]
    return values[i] + (values[i + 1] - values[i]) * (t - low) / (edges[i + 1] - low)


def free_within(curve: Curve, moments: Sequence[float]) -> list[tuple[float, float]]:
    """For each moment h: mean and variance of how many of the talks the curve counted as
    running end within h seconds, each independently with the chance
    1 - P(still talking at age + h | talking at age)."""
    edges, survival = curve.edges, curve.survival
    means = [0.0] * len(moments)
    variances = [0.0] * len(moments)
    for age, n in curve.running:
        now = _read(edges, survival, age)
        if now <= 0.0:
            continue  # past every observation: assumed to go on
        for i, h in enumerate(moments):
            q = 1.0 - min(1.0, _read(edges, survival, age + h) / now)
            means[i] += n * q
            variances[i] += n * q * (1.0 - q)
    return list(zip(means, variances, strict=True))


def answers_within(curve: Curve, moments: Sequence[float]) -> list[tuple[float, float]]:
    """For each moment h: mean and variance of how many of the calls the curve counted as
    ringing are answered within h seconds."""
    edges, incidence = curve.edges, curve.incidence
    means = [0.0] * len(moments)
    variances = [0.0] * len(moments)
    for age, n in curve.running:
        now = _read(edges, curve.survival, age)
        if now <= 0.0:
            continue
        before = _read(edges, incidence, age)
        for i, h in enumerate(moments):
            p = max(0.0, min(1.0, (_read(edges, incidence, age + h) - before) / now))
            means[i] += n * p
            variances[i] += n * p * (1.0 - p)
    return list(zip(means, variances, strict=True))
