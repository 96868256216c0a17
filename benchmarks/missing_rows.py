"""Rows an export left out: Favorita's daily store transactions with some stores' rows missing.

At each origin, ``--left-out`` stores (seeded, a different draw per origin) lose one row: the
origin's own day (the latest file without them) or, with ``--where inside``, a day of the last
week (a later file came in complete). Each model forecasts every store 14 days ahead through
the run path (``Runner.forecast`` on a ``FrameSource``) three ways:

- ``complete``: the rows as exported by Favorita;
- ``zero``: the missing rows read as zero sales (what trendcast did before: stored as explicit
  zero rows here, which is what its gap filling made of them);
- ``now``: the rows missing, as trendcast reads them today (a fast seller's missing period is
  its recent level; see ``features.series.fill_series``).

WAPE over the affected stores' 14 days after each origin (actuals as exported), pooled over
origins. Accuracy only (no timing):

    python benchmarks/missing_rows.py --where last
    python benchmarks/missing_rows.py --where inside
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

from trendcast.engine.runner import FrameSource, Runner
from trendcast.models.registry import make_model

ORIGINS = pd.to_datetime(["2017-05-31", "2017-06-14", "2017-06-28", "2017-07-12", "2017-07-26"])
H = 14


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--where", choices=["last", "inside"], default="last")
    ap.add_argument("--left-out", type=int, default=10)
    ap.add_argument("--models", nargs="+", default=["SeasonalNaive", "AutoETS"])
    ap.add_argument("--shared", type=Path,
                    default=Path(__file__).resolve().parents[2] / "shared" / "data")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    raw = pd.read_csv(args.shared / "favorita_store_transactions" / "transactions.csv", parse_dates=["date"])
    sales = pd.DataFrame({"unique_id": "store_" + raw["store_nbr"].astype(str), "ds": raw["date"],
                          "y": raw["transactions"].astype(float)})
    rng = np.random.default_rng(0)
    errors: dict[tuple[str, str], list[float]] = {}
    totals: list[float] = []
    for origin in ORIGINS:
        past = sales[(sales["ds"] <= origin) & (sales["ds"] > origin - pd.Timedelta(days=730))]
        live = sorted(past.loc[past["ds"] == origin, "unique_id"].unique())
        chosen = [str(u) for u in rng.choice(live, args.left_out, replace=False)]
        back = int(rng.integers(1, 7)) if args.where == "inside" else 0
        day = origin - pd.Timedelta(days=back)
        gone = past["unique_id"].isin(chosen) & (past["ds"] == day)
        frames = {"complete": past, "zero": past.assign(y=np.where(gone, 0.0, past["y"])),
                  "now": past[~gone]}
        future = sales[sales["unique_id"].isin(chosen) & (sales["ds"] > origin)
                       & (sales["ds"] <= origin + pd.Timedelta(days=H))]
        totals.append(float(future["y"].sum()))
        for name in args.models:
            for how, frame in frames.items():
                runner = Runner([make_model(name)], n_jobs=1)
                out = runner.forecast(FrameSource(frame, freq="D"), H)
                fc = out.forecasts.merge(future, on=["unique_id", "ds"])
                errors.setdefault((name, how), []).append(float((fc[name] - fc["y"]).abs().sum()))
        print(origin.date(), day.date(), chosen, flush=True)
    rows = [{"model": m, "rows": how, "WAPE": round(sum(e) / sum(totals), 4)}
            for (m, how), e in errors.items()]
    table = pd.DataFrame(rows).pivot(index="model", columns="rows", values="WAPE")
    table = table[["complete", "zero", "now"]]
    print(table.to_string())
    if args.json:
        args.json.write_text(json.dumps({"where": args.where, "left_out": args.left_out, "rows": rows},
                                        indent=1))


if __name__ == "__main__":
    main()
