"""Real weekly and quarterly data exported the way reports write periods: do they store the same sales?

Walmart's whole training file (Store_Dept weeks, dated by the Friday that ends them) and the
quarterly beer series are rewritten as a back end's report would have them: weeks as date
ranges or ISO week labels, quarters as ``1970Q1`` or ``1970年第1季度``, and Walmart as a wide
sheet (departments down, weeks across, blank where a department had no row). Each variant is
ingested into a fresh workspace with the options a user would pass, and compared with the
long file ingested as it comes: rows, total units, and whether every (series, date, y) is
the same. Results: docs/benchmarks.md, "Period labels and wide sheets".

    PYTHONPATH=src python benchmarks/careless_audit/period_exports.py [--shared ../shared/data]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pandas as pd

from trendcast.data.duckdb_store import DuckDBStore
from trendcast.data.ingest import make_options
from trendcast.services.ingest import ingest_file


def stored(path: Path, kind: str = "sales", **options) -> tuple[pd.DataFrame, list[str], float]:
    """Ingest ``path`` into a fresh workspace: its sales, the notes, wall seconds."""
    with tempfile.TemporaryDirectory() as tmp:
        store = DuckDBStore(Path(tmp) / "ws.duckdb")
        try:
            start = time.perf_counter()
            report = ingest_file(store, path, kind, add_products=True,
                                 options=make_options(**options))
            seconds = time.perf_counter() - start
            sales = store.sales()[["unique_id", "ds", "y"]]
        finally:
            store.close()
    return sales.sort_values(["unique_id", "ds"], ignore_index=True), report.notes, seconds


def compare(name: str, base: pd.DataFrame, got: pd.DataFrame, notes: list[str], seconds: float,
            shift_days: int = 0) -> dict:
    moved = got.assign(ds=got["ds"] + pd.Timedelta(days=shift_days))
    same = len(base) == len(moved) and base.equals(moved)
    said = [n for n in notes if "label" in n or "wide" in n or "inside the file" in n]
    return {"variant": name, "rows": len(got), "total": round(float(got["y"].sum()), 2),
            "same as the long file": same, "seconds": round(seconds, 1), "note": " / ".join(said)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--shared", default=str(Path(__file__).resolve().parents[3] / "shared" / "data"))
    args = parser.parse_args()
    data = Path(args.shared)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        walmart = pd.read_csv(data / "walmart_recruiting" / "train.csv.zip")
        walmart["unique_id"] = walmart["Store"].astype(str) + "_" + walmart["Dept"].astype(str)
        long = walmart[["unique_id", "Date", "Weekly_Sales"]].rename(
            columns={"Date": "ds", "Weekly_Sales": "y"})
        long.to_csv(out / "long.csv", index=False)
        base, notes, secs = stored(out / "long.csv", negatives="keep")
        rows.append(compare("Walmart long, as it comes", base, base, notes, secs))

        friday = pd.to_datetime(long["ds"])
        ranged = long.assign(ds=(friday - pd.Timedelta(days=6)).dt.strftime("%Y-%m-%d") + "~"
                             + friday.dt.strftime("%Y-%m-%d"))
        ranged.to_csv(out / "ranges.csv", index=False)
        rows.append(compare("Walmart, weeks as ranges 2010-01-30~2010-02-05", base,
                            *stored(out / "ranges.csv", negatives="keep")))

        iso = friday.dt.isocalendar()
        labelled = long.assign(ds=iso["year"].astype(str) + "-W" + iso["week"].astype(str).str.zfill(2))
        labelled.to_csv(out / "iso.csv", index=False)
        rows.append(compare("Walmart, weeks as ISO labels 2010-W05 (stored on the Monday: Friday - 4)",
                            base, *stored(out / "iso.csv", negatives="keep"), shift_days=4))

        wide = long.pivot(index="unique_id", columns="ds", values="y").reset_index()
        wide = wide.rename(columns={"unique_id": "Store_Dept"})
        wide.to_csv(out / "wide.csv", index=False)
        name = f"Walmart wide sheet ({wide.shape[0]:,} rows x {wide.shape[1] - 1} weeks, blanks)"
        rows.append(compare(name, base, *stored(out / "wide.csv", negatives="keep",
                                          mapping=["unique_id=Store_Dept"])))

        beer = pd.read_csv(data / "monthly_quarterly" / "quarterly.csv")
        # trendcast's dates start in 1970; the last quarter has no value in the source
        beer = beer[(beer["ds"] >= "1970-01-01") & beer["y"].notna()]
        beer.to_csv(out / "beer.csv", index=False)
        qbase, notes, secs = stored(out / "beer.csv")
        rows.append(compare("quarterly beer, as it comes", qbase, qbase, notes, secs))
        start = pd.to_datetime(beer["ds"])
        year, quarter = start.dt.year.astype(str), start.dt.quarter.astype(str)
        for name, label in (("1970Q1", year + "Q" + quarter),
                            ("1970年第1季度", year + "年第" + quarter + "季度")):
            beer.assign(ds=label).to_csv(out / "beer_q.csv", index=False)
            rows.append(compare(f"quarterly beer, quarters as {name}", qbase, *stored(out / "beer_q.csv")))

        favorita = data / "favorita_store_transactions" / "transactions.csv"
        _, notes, secs = stored(favorita, mapping=["unique_id=store_nbr", "ds=date", "y=transactions"])
        rows.append({"variant": "Favorita transactions, first file", "rows": None, "total": None,
                     "same as the long file": None, "seconds": round(secs, 1),
                     "note": " / ".join(n for n in notes if "inside the file" in n)})
    columns = list(rows[0])
    print("| " + " | ".join(columns) + " |\n|" + "---|" * len(columns))
    for row in rows:
        print("| " + " | ".join("" if row[c] is None else f"{row[c]:,}" if isinstance(row[c], int)
                               and not isinstance(row[c], bool) else str(row[c]) for c in columns) + " |")


if __name__ == "__main__":
    main()
