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

import phone as phone_bench
import phonenumbers

from outbound.domain.phone import Normalized, Rejected, normalize
from outbound.domain.settings import CampaignSettings
from outbound.ingest.contacts import import_contacts, rows_from_table
from outbound.ingest.dnc import dnc_rows, import_dnc
from outbound.ingest.reader import open_text, read_table
from outbound.store import Store

CONTACT_ROWS = 200_000
DNC_ROWS = 1_000_000
BIG_DNC = 10_000_000


def contact_rows(count: int, seed: int = 1, region: str = "US") -> list[str]:
    """An upload read in `region`: US, UK and Indian numbers (national and international
    formats at home, international ones from abroad), ~2% invalid, ~3% repeats."""
    rng = random.Random(seed)
    rows: list[str] = []
    while len(rows) < count:
        pick = rng.random()
        if pick < 0.03 and rows:
            rows.append(rng.choice(rows))
            continue
        home = region if rng.random() < 0.6 else rng.choice(phone_bench.REGIONS)
        _, groups = phone_bench.national_number(rng, home)
        raw = phone_bench.written(rng, home, region, groups)
        rows.append(phone_bench.broken(rng, raw) if pick > 0.985 else raw)
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


def bench_contacts_and_dnc(work: Path, contacts: int = CONTACT_ROWS,
                           dnc_entries: int = DNC_ROWS) -> dict[str, Any]:
    url = f"sqlite:///{work / 'bench.db'}"
    store = Store.open(url)
    now = time.time()
    account_id = store.accounts.create("Bench", timezone="UTC", region="US", now=now)

    # The DNC bulk import: 1,000,000 numbers in mixed formats, one per line.
    dnc_file = work / "dnc.txt"
    with dnc_file.open("w") as out:
        for raw in contact_rows(dnc_entries, seed=7):
            out.write(raw + "\n")
    began = time.perf_counter()
    with open_text(dnc_file) as text:
        dnc_report = import_dnc(store, account_id, dnc_rows(text, str(dnc_file)), "US", now)
    dnc_seconds = time.perf_counter() - began

    numbers = contact_rows(contacts)
    csv_path = work / "contacts.csv"
    write_contacts_csv(csv_path, numbers)
    campaign_id = store.campaigns.create(account_id, CampaignSettings.parse({"name": "b"}), now)
    store.close()
    receive, send = multiprocessing.get_context("spawn").Pipe(duplex=False)
    child = multiprocessing.get_context("spawn").Process(
        target=_import_child, args=(url, campaign_id, account_id, str(csv_path), send))
    child.start()
    result = receive.recv()
    child.join()

    loop_seconds, _ = plain_loop(numbers, "US")
    began = time.perf_counter()
    ours = [normalize(raw, "US") for raw in numbers]
    normalize_seconds = time.perf_counter() - began
    # The same answers as the plain calls, less the number types and extensions refused.
    differences = sum(
        (r.e164 if isinstance(r, Normalized) else None) != phone_bench.accepted(raw, "US")
        for raw, r in zip(numbers, ours, strict=True)
        if not (isinstance(r, Rejected) and "extension" in r.reason))
    report = result["report"]
    return {
        "contacts_rows": contacts,
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
        "normalize_rows_differing_from_plain_calls": differences,
        "dnc_import_rows": dnc_entries,
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


def main(scale: float = 1.0) -> dict[str, Any]:
    """Every import figure; `scale` shrinks the row counts (0.1 for a quick look)."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        results = bench_contacts_and_dnc(work, int(CONTACT_ROWS * scale), int(DNC_ROWS * scale))
        results.update(bench_dnc_lookup(work, int(BIG_DNC * scale)))
    return results


if __name__ == "__main__":
    for key, value in main().items():
        print(f"{key:<36}{value}")
