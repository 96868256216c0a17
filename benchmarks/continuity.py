"""A missed export on real data: how often the continuity check refuses a daily (weekly) ingest
that skipped nothing, and whether it catches an export taken out.

    python benchmarks/continuity.py --data ../shared/data --json continuity.json

Favorita (daily transactions of 54 stores, 2013-2017) and Walmart (weekly sales of 3,331
store-departments, 2010-2012) are replayed as a shop's exports: the first year is ingested in
one file, then every later day (week) as its own file through ``ingest_file``, as a daily job
would. Counted: ingests refused although the shop's own data has every row (false alarms;
Favorita's stores are closed on Christmas Day and, in some years, on New Year's Day, so those
days have no row), with and without Favorita's holiday calendar stored; then each replay is run
again with one export in every 30 (every 8th week) removed, and the missed exports caught
counted. A caught export is ingested with the missing one, as the message asks.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from trendcast.data.store import open_store  # noqa: E402
from trendcast.errors import DataValidationError  # noqa: E402
from trendcast.services.ingest import ingest_file  # noqa: E402


def replay(sales: pd.DataFrame, first_days: int, *, skip_every: int = 0,
           calendar: pd.DataFrame | None = None) -> dict[str, object]:
    """Ingest ``sales`` (unique_id, ds, y) as a first file of ``first_days`` days, then one
    file per later date; with ``skip_every``, every ``skip_every``-th date's file is held back
    and given with the next one once the check refuses it."""
    folder = Path(tempfile.mkdtemp(prefix="continuity-"))
    dates = sorted(sales["ds"].unique())
    start = pd.Timestamp(dates[0]) + pd.Timedelta(days=first_days)
    refused, caught, missed, notes, files = [], 0, 0, [], 0
    t0 = time.perf_counter()
    with open_store(folder / "w.duckdb") as store:
        if calendar is not None:
            store.upsert("calendar_events", calendar)
        head = folder / "head.csv"
        sales[sales["ds"] < start].to_csv(head, index=False)
        ingest_file(store, head, "sales", now=pd.Timestamp("2030-01-01"))
        later = [pd.Timestamp(d) for d in dates if pd.Timestamp(d) >= start]
        held: list[pd.Timestamp] = []
        for i, day in enumerate(later, start=1):
            if skip_every and i % skip_every == 0:
                held.append(day)  # this export never came
                continue
            path = folder / f"{day:%Y%m%d}.csv"
            sales[sales["ds"] == day].to_csv(path, index=False)
            files += 1
            try:
                report = ingest_file(store, path, "sales", now=pd.Timestamp("2030-01-01"))
                notes += [n for n in report.notes if "no product has a sales row" in n]
                if held:
                    missed += len(held)
                    held = []
            except DataValidationError as exc:
                if not held:
                    refused.append(f"{day:%Y-%m-%d}: {str(exc)[:160]}")
                    ingest_file(store, path, "sales", now=pd.Timestamp("2030-01-01"), allow_gaps=True)
                    continue
                caught += len(held)
                both = folder / f"{day:%Y%m%d}-with-missing.csv"
                sales[sales["ds"].isin([*held, day])].to_csv(both, index=False)
                ingest_file(store, both, "sales", now=pd.Timestamp("2030-01-01"))
                held = []
    return {"files": files, "false_alarms": len(refused), "refused": refused[:10],
            "withheld": caught + missed, "caught": caught, "missed": missed,
            "notes": notes[:10], "seconds": round(time.perf_counter() - t0, 1)}


def favorita(data: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    folder = data / "favorita_store_transactions"
    t = pd.read_csv(folder / "transactions.csv", parse_dates=["date"])
    sales = pd.DataFrame({"unique_id": t["store_nbr"].astype(str), "ds": t["date"],
                          "y": t["transactions"].astype(float)})
    h = pd.read_csv(folder / "holidays_events.csv")
    h = h[h["locale"] == "National"]
    cal = pd.DataFrame({"ds": pd.to_datetime(h["date"], format="%m/%d/%y"),
                        "name": h["description"], "region": ""}).drop_duplicates(["ds", "name"])
    return sales, cal


def walmart(data: Path) -> pd.DataFrame:
    w = pd.read_csv(data / "walmart_recruiting" / "train.csv.zip", parse_dates=["Date"])
    return pd.DataFrame({"unique_id": w["Store"].astype(str) + "_" + w["Dept"].astype(str),
                         "ds": w["Date"], "y": w["Weekly_Sales"].clip(lower=0.0)})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    fav, cal = favorita(args.data)
    wal = walmart(args.data)
    out = {
        "favorita": replay(fav, 365),
        "favorita_with_calendar": replay(fav, 365, calendar=cal),
        "favorita_one_in_30_missing": replay(fav, 365, skip_every=30, calendar=cal),
        "walmart": replay(wal, 364),
        "walmart_one_in_8_missing": replay(wal, 364, skip_every=8),
    }
    text = json.dumps(out, indent=1, default=str)
    print(text)
    if args.json:
        args.json.write_text(text)


if __name__ == "__main__":
    main()
