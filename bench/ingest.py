"""Import benchmarks: a 200,000-row contact CSV against a 1,000,000-entry DNC list, the DNC bulk
import itself, and DNC lookups in a 10,000,000-entry list, each beside its floor.

Run by `make bench` (bench/run.py); `python bench/ingest.py` runs these alone.
"""

from __future__ import annotations

import multiprocessing
import random
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import phonenumbers

from outbound.domain.phone import Rejected, normalize
from outbound.ingest.contacts import import_contacts, rows_from_table
from outbound.ingest.dnc import dnc_rows, import_dnc
from outbound.ingest.reader import open_text, read_table
from outbound.store import Store

CONTACT_ROWS = 200_000
DNC_ROWS = 1_000_000
BIG_DNC = 10_000_000

_US_AREAS = (201, 212, 213, 305, 312, 404, 415, 503, 512, 617, 702, 713, 801, 206, 303, 602)
_UK = ("20", "121", "131", "161", "113", "117", "7700", "7911", "7400", "7500")
_IN_MOBILE = "6789"


def _number(rng: random.Random) -> str:
    """One number as people type them: US, UK or Indian, national or international."""
    kind = rng.random()
    if kind < 0.5:
        area, exchange, line = rng.choice(_US_AREAS), rng.randrange(200, 1000), rng.randrange(
            10000)
        return rng.choice((f"({area}) {exchange}-{line:04d}", f"+1 {area} {exchange} {line:04d}",
                           f"{area}.{exchange}.{line:04d}", f"{area}-{exchange}-{line:04d}",
                           f"+1{area}{exchange}{line:04d}"))
    if kind < 0.75:
        prefix = rng.choice(_UK)
        rest = f"{rng.randrange(10 ** (10 - len(prefix))):0{10 - len(prefix)}d}"
        return rng.choice((f"0{prefix} {rest[:4]} {rest[4:]}", f"+44 {prefix} {rest}",
                           f"0{prefix}{rest}"))
    mobile = rng.choice(_IN_MOBILE) + f"{rng.randrange(10 ** 9):09d}"
    return rng.choice((f"+91 {mobile[:5]} {mobile[5:]}", f"+91{mobile}", f"+91-{mobile}"))


def _invalid(rng: random.Random) -> str:
    return rng.choice(("n/a", "12345", "+1 555 01", "call me", "+44 20 1234", "0000000000",
                       f"+1 {rng.randrange(100, 200)} 555 {rng.randrange(10000):04d}"))


def contact_rows(count: int, seed: int = 1) -> list[str]:
    """About 2% invalid and 3% repeats of earlier rows."""
    rng = random.Random(seed)
    rows: list[str] = []
    for _ in range(count):
        draw = rng.random()
        if draw < 0.02:
            rows.append(_invalid(rng))
        elif draw < 0.05 and rows:
            rows.append(rows[rng.randrange(len(rows))])
        else:
            rows.append(_number(rng))
    return rows


def write_contacts_csv(path: Path, numbers: list[str]) -> None:
    with path.open("w", encoding="utf-8") as out:
        out.write("phone,name,plan\n")
        for i, number in enumerate(numbers):
            out.write(f"\"{number}\",Contact {i},{'gold' if i % 3 else 'basic'}\n")


def plain_loop(numbers: list[str], region: str) -> tuple[float, list[str | None]]:
    """The floor: phonenumbers parse + is_valid_number + format_number(E164), row by row."""
    results: list[str | None] = []
    began = time.perf_counter()
    for raw in numbers:
        try:
            parsed = phonenumbers.parse(raw, region)
        except phonenumbers.NumberParseException:
            results.append(None)
            continue
        if phonenumbers.is_valid_number(parsed):
            results.append(phonenumbers.format_number(parsed,
                                                      phonenumbers.PhoneNumberFormat.E164))
        else:
            results.append(None)
    return time.perf_counter() - began, results


def _peak_rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def _import_child(url: str, campaign_id: int, account_id: int, path: str,
                  out: Any) -> None:
    store = Store.open(url, migrate_schema=False)
    before = _peak_rss_kib()
    began = time.perf_counter()
    with open_text(Path(path)) as text:
        report = import_contacts(store, campaign_id, account_id,
                                 rows_from_table(read_table(text, path)), "US", time.time())
    out.send({"seconds": time.perf_counter() - began, "report": report.to_dict(),
              "rss_before_kib": before, "rss_peak_kib": _peak_rss_kib()})


def bench_contacts_and_dnc(work: Path) -> dict[str, Any]:
    url = f"sqlite:///{work / 'bench.db'}"
    store = Store.open(url)
    now = time.time()
    account_id = store.accounts.create("Bench", timezone="UTC", region="US", now=now)

    # The DNC bulk import: 1,000,000 numbers in mixed formats, one per line.
    rng = random.Random(7)
    dnc_file = work / "dnc.txt"
    with dnc_file.open("w") as out:
        for _ in range(DNC_ROWS):
            out.write(_number(rng) + "\n")
    began = time.perf_counter()
    with open_text(dnc_file) as text:
        dnc_report = import_dnc(store, account_id, dnc_rows(text, str(dnc_file)), "US", now)
    dnc_seconds = time.perf_counter() - began

    numbers = contact_rows(CONTACT_ROWS)
    csv_path = work / "contacts.csv"
    write_contacts_csv(csv_path, numbers)
    from outbound.domain.settings import CampaignSettings

    campaign_id = store.campaigns.create(account_id, CampaignSettings.parse({"name": "b"}), now)
    store.close()
    receive, send = multiprocessing.get_context("spawn").Pipe(duplex=False)
    child = multiprocessing.get_context("spawn").Process(
        target=_import_child, args=(url, campaign_id, account_id, str(csv_path), send))
    child.start()
    result = receive.recv()
    child.join()

    loop_seconds, reference = plain_loop(numbers, "US")
    began = time.perf_counter()
    ours = [None if isinstance(r, Rejected) else r.e164 for r in
            (normalize(raw, "US") for raw in numbers)]
    normalize_seconds = time.perf_counter() - began
    report = result["report"]
    return {
        "contacts_rows": CONTACT_ROWS,
        "contacts_import_seconds": round(result["seconds"], 2),
        "contacts_imported": report["imported"],
        "contacts_invalid": report["invalid"],
        "contacts_duplicate": report["duplicate"],
        "contacts_dnc_flagged": report["dnc_flagged"],
        "import_peak_rss_mib": round(result["rss_peak_kib"] / 1024, 1),
        "import_rss_growth_mib": round((result["rss_peak_kib"] - result["rss_before_kib"])
                                       / 1024, 1),
        "plain_phonenumbers_loop_seconds": round(loop_seconds, 2),
        "normalize_seconds": round(normalize_seconds, 2),
        "normalize_speedup": round(loop_seconds / normalize_seconds, 2),
        "normalize_equals_plain_loop": ours == reference,
        "dnc_import_rows": DNC_ROWS,
        "dnc_import_seconds": round(dnc_seconds, 2),
        "dnc_added": dnc_report.added,
    }


def bench_dnc_lookup(work: Path, entries: int = BIG_DNC, lookups: int = 20_000
                     ) -> dict[str, Any]:
    """Median time of the claim's DNC probe in a list of `entries` numbers."""
    url = f"sqlite:///{work / 'lookup.db'}"
    store = Store.open(url)
    account_id = store.accounts.create("Lookup", timezone="UTC", region="US", now=0.0)
    store.close()
    began = time.perf_counter()
    raw = sqlite3.connect(work / "lookup.db")
    raw.execute("PRAGMA journal_mode=WAL")
    raw.execute("PRAGMA synchronous=OFF")
    batch = 100_000
    for start in range(0, entries, batch):
        raw.executemany("INSERT INTO dnc (account_id, phone, added_at) VALUES (?, ?, 0)",
                        ((account_id, f"+1{2_000_000_000 + 7 * n}")
                         for n in range(start, min(entries, start + batch))))
    raw.commit()
    fill_seconds = time.perf_counter() - began
    rng = random.Random(3)
    probes = [f"+1{2_000_000_000 + rng.randrange(entries * 7)}" for _ in range(lookups)]
    timings = []
    query = "SELECT 1 FROM dnc WHERE account_id = ? AND phone = ?"
    hits = 0
    for phone in probes:
        began = time.perf_counter()
        hits += raw.execute(query, (account_id, phone)).fetchone() is not None
        timings.append(time.perf_counter() - began)
    raw.close()
    store = Store.open(url, migrate_schema=False)
    ours = []
    for phone in probes:
        began = time.perf_counter()
        store.dnc.is_listed(account_id, phone)
        ours.append(time.perf_counter() - began)
    store.close()
    return {"dnc_entries": entries, "dnc_fill_seconds": round(fill_seconds, 1),
            "dnc_lookup_median_us": round(statistics.median(ours) * 1e6, 1),
            "dnc_lookup_p99_us": round(statistics.quantiles(ours, n=100)[98] * 1e6, 1),
            "dnc_lookup_sqlite_floor_median_us": round(statistics.median(timings) * 1e6, 1),
            "dnc_lookup_hits": hits}


def main() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        results = bench_contacts_and_dnc(work)
        results.update(bench_dnc_lookup(work))
    return results


if __name__ == "__main__":
    for key, value in main().items():
        print(f"{key:<36}{value}")
