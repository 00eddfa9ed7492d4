"""Phone normalization speed: `outbound.domain.phone.normalize` against the plain phonenumbers
loop (`parse` + `is_valid_number` + `format_number(E164)`) over one mixed corpus.

    .venv/bin/python bench/phone.py [--rows 200000] [--repeat 3] [--seed 7]

The corpus is what an upload looks like: US, UK and Indian numbers in national and
international formats, about 2% invalid and 3% duplicates, read with the uploading account's
default region. tests/unit/test_phone_equivalence.py checks `normalize` against the plain
calls on this same generator, and this script re-checks every row it times.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable, Iterator, Sequence

import phonenumbers

from outbound.domain.phone import Normalized, normalize

REGIONS = ("US", "GB", "IN")
COUNTRY_CODES = {"US": "1", "GB": "44", "IN": "91"}
# The international prefix dialled from each region (its IDD), as in "011 44 20 7946 0958".
IDD = {"US": "011", "GB": "00", "IN": "00"}

_US_AREAS = (201, 202, 206, 212, 213, 214, 305, 310, 312, 404, 415, 503, 512, 602, 617, 646,
             702, 713, 718, 773, 786, 805, 818, 917, 949, 972)
_US_TOLL_FREE = (800, 833, 844, 855, 866, 877, 888)
_GB_AREAS = ("141", "151", "161", "191", "1223", "1224", "1273", "1452", "1603", "1865", "1904")
_IN_CITIES = ("11", "22", "33", "40", "44", "80")
_GARBAGE = ("", " ", "n/a", "N/A", "-", "none", "tbd", "#REF!", "unknown", "0", "123",
            "call me", "=SUM(A1)", "++", "555", "x", "()", "+", "00")

Row = tuple[str, str]  # (raw text, default region)


def national_number(rng: random.Random, home: str) -> tuple[str, tuple[str, ...]]:
    """A national significant number of `home` and its usual digit groups."""
    pick = rng.random()
    if home == "US":
        if pick < 0.87:
            area = rng.choice(_US_AREAS)
        elif pick < 0.90:
            area = rng.randint(200, 999)  # Canada, the Caribbean, unassigned areas too
        elif pick < 0.97:
            area = rng.choice(_US_TOLL_FREE)
        else:
            area = 900  # premium rate
        nsn = f"{area}{rng.randint(200, 999)}{rng.randint(0, 9999):04d}"
        return nsn, (nsn[:3], nsn[3:6], nsn[6:])
    if home == "GB":
        if pick < 0.50:  # mobile
            nsn = f"7{rng.choice('4579')}{rng.randint(0, 99_999_999):08d}"
            return nsn, (nsn[:4], nsn[4:])
        if pick < 0.70:  # London
            nsn = f"20{rng.choice('378')}{rng.randint(0, 9_999_999):07d}"
            return nsn, (nsn[:2], nsn[2:6], nsn[6:])
        if pick < 0.92:  # other geographic: 01xx1 xxx xxxx or 01xxx xxxxxx
            area = rng.choice(_GB_AREAS)
            nsn = f"{area}{rng.randint(0, 9_999_999):07d}"[:10]
            return nsn, ((area, nsn[3:6], nsn[6:]) if len(area) == 3 else (area, nsn[4:]))
        if pick < 0.97:  # freephone
            nsn = f"800{rng.randint(0, 9_999_999):07d}"
            return nsn, (nsn[:3], nsn[3:6], nsn[6:])
        nsn = f"9{rng.choice('018')}{rng.randint(0, 99_999_999):08d}"  # premium rate
        return nsn, (nsn[:3], nsn[3:6], nsn[6:])
    if pick < 0.75:  # mobile
        nsn = f"{rng.choice('6789')}{rng.randint(0, 999_999_999):09d}"
        return nsn, (nsn[:5], nsn[5:])
    if pick < 0.95:  # a city's fixed line
        nsn = f"{rng.choice(_IN_CITIES)}{rng.choice('2345')}{rng.randint(0, 9_999_999):07d}"
        return nsn, (nsn[:2], nsn[2:6], nsn[6:])
    nsn = f"1800{rng.randint(0, 9_999_999):07d}"  # toll free
    return nsn, (nsn[:4], nsn[4:7], nsn[7:])


def written(rng: random.Random, home: str, region: str, groups: Sequence[str]) -> str:
    """One way people write the number `groups` of `home` in a list whose default is `region`."""
    cc = COUNTRY_CODES[home]
    nsn = "".join(groups)
    spaced, dashed, dotted = " ".join(groups), "-".join(groups), ".".join(groups)
    international = [f"+{cc} {spaced}", f"+{cc}-{dashed}", f"+{cc}{nsn}", f"+{cc} ({groups[0]}) "
                     + " ".join(groups[1:]), f"{IDD[region]} {cc} {spaced}"]
    if home in ("GB", "IN"):
        international.append(f"+{cc} (0){spaced}")
    if home != region:
        return rng.choice(international)
    if rng.random() < 0.35:
        # At home, the country code without "+" reads too: "44 20 7946 0958" in GB.
        return rng.choice([*international, f"{cc} {spaced}"])
    if home == "US":
        national = [nsn, f"({groups[0]}) {groups[1]}-{groups[2]}", dashed, dotted, spaced,
                    f"1-{dashed}", f"1 ({groups[0]}) {groups[1]}-{groups[2]}", f"1{nsn}"]
    else:
        national = [f"0{spaced}", f"0{nsn}", f"(0{groups[0]}) " + " ".join(groups[1:]),
                    f"0{dashed}", spaced, nsn]
    return rng.choice(national)


def broken(rng: random.Random, raw: str) -> str:
    """An invalid variant of `raw`: a digit lost or added, a letter typed for a digit, or junk."""
    positions = [i for i, ch in enumerate(raw) if ch.isdigit()]
    pick = rng.random()
    if pick < 0.25 or not positions:
        return rng.choice(_GARBAGE)
    i = rng.choice(positions)
    if pick < 0.50:
        return raw[:i] + raw[i + 1:]
    if pick < 0.75:
        return raw[:i] + str(rng.randint(0, 9)) + raw[i:]
    return raw[:i] + rng.choice("OolI") + raw[i + 1:]


def mixed_corpus(rows: int, seed: int) -> list[Row]:
    """`rows` (raw text, default region) pairs: ~2% invalid, ~3% repeats of earlier numbers
    (the same text, or the same number written another way)."""
    rng = random.Random(seed)
    corpus: list[Row] = []
    numbers: list[tuple[str, str, tuple[str, ...]]] = []  # (home, region, groups) so far
    while len(corpus) < rows:
        pick = rng.random()
        if pick < 0.03 and numbers:
            home, region, groups = rng.choice(numbers)
            if rng.random() < 0.5:
                corpus.append(rng.choice(corpus))
            else:
                corpus.append((written(rng, home, region, groups), region))
            continue
        region = rng.choice(REGIONS)
        home = region if rng.random() < 0.7 else rng.choice(REGIONS)
        _, groups = national_number(rng, home)
        raw = written(rng, home, region, groups)
        if pick > 0.985:
            raw = broken(rng, raw)
        else:
            numbers.append((home, region, groups))
        corpus.append((raw, region))
    return corpus


def plain(raw: str, region: str) -> str | None:
    """The loop the issue measures: E.164 of a valid number, else None."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


_REFUSED = {phonenumbers.PhoneNumberType.PREMIUM_RATE, phonenumbers.PhoneNumberType.UAN,
            phonenumbers.PhoneNumberType.PAGER, phonenumbers.PhoneNumberType.VOICEMAIL,
            phonenumbers.PhoneNumberType.UNKNOWN}


def accepted(raw: str, region: str) -> str | None:
    """The import rule from the plain calls: `plain`, less the refused number types."""
    e164 = plain(raw, region)
    if e164 is None or phonenumbers.number_type(phonenumbers.parse(raw, region)) in _REFUSED:
        return None
    return e164


def timed(label: str, run: Callable[[], object], rows: int, repeat: int) -> float:
    best = min(_seconds(run) for _ in range(repeat))
    print(f"{label:<44}{best / rows * 1e6:>8.2f} µs/row  ({best:.2f} s)", flush=True)
    return best


def _seconds(run: Callable[[], object]) -> float:
    began = time.perf_counter()
    run()
    return time.perf_counter() - began


def _main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3, help="best of this many runs")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)

    corpus = mixed_corpus(args.rows, args.seed)
    valid = [e164 for raw, region in corpus if (e164 := plain(raw, region)) is not None]
    invalid, repeated = len(corpus) - len(valid), len(valid) - len(set(valid))
    print(f"{len(corpus)} rows (seed {args.seed}): {invalid / len(corpus):.1%} invalid, "
          f"{repeated / len(corpus):.1%} repeats of a valid number; best of {args.repeat} runs",
          flush=True)

    base = timed("phonenumbers parse+is_valid+format (plain)",
                 lambda: [plain(raw, region) for raw, region in corpus], len(corpus), args.repeat)
    ours = timed("outbound normalize",
                 lambda: [normalize(raw, region) for raw, region in corpus], len(corpus),
                 args.repeat)
    print(f"{'speed-up':<44}{base / ours:>8.2f} ×")

    mismatches = list(_mismatches(corpus))
    print(f"rows where normalize differs from the plain calls (with number_type): "
          f"{len(mismatches)}")
    for raw, region in mismatches[:10]:
        print(f"  {raw!r} in {region}: {normalize(raw, region)} vs {accepted(raw, region)}")
    return 1 if mismatches else 0


def _mismatches(corpus: Sequence[Row]) -> Iterator[Row]:
    for raw, region in corpus:
        result = normalize(raw, region)
        ours = result.e164 if isinstance(result, Normalized) else None
        if ours != accepted(raw, region):
            yield raw, region


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
