"""Forecast explanations on the simulated shop around Double 11 2025: what LightGBM's SHAP
drivers say, next to what really happened.

    python benchmarks/explain.py --json out.json

The shop's sales are stored up to 2025-11-04 (with its catalogue and festival calendar), then
``trendcast.services.explain`` fits LightGBM exactly as ``trendcast explain`` does (same
covariates as ``trendcast forecast``: future prices held at the last price, no promotions)
and explains a 14-day forecast (2025-11-05 .. 11-18) of the top products by recent sales.
For Double 11 (11-11) the table compares, per product, the forecast and the actual units (the
simulator's draw) against the model's typical recent day, and the festival / events,
price and promotion drivers. A worked example prints the day-by-day sentences of one product
in English and Chinese, and the MSTL decomposition of an AutoETS forecast of the same product.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from trendcast.data.simulate import simulate_shop  # noqa: E402
from trendcast.data.store import open_store  # noqa: E402
from trendcast.services.explain import explain_many  # noqa: E402
from trendcast.services.ingest import ingest_frames  # noqa: E402

LAST_DAY = pd.Timestamp("2025-11-04")
DAY = pd.Timestamp("2025-11-11")
H = 14


def run(n_top: int, seed: int) -> dict:
    shop = simulate_shop(seed=seed)
    sales = shop.sales[shop.sales["ds"] <= LAST_DAY]
    recent = sales[sales["ds"] > LAST_DAY - pd.Timedelta(days=28)].groupby("unique_id")["y"].sum()
    ids = list(recent.sort_values(ascending=False).index[:n_top])
    actual = shop.sales[shop.sales["ds"] == DAY].set_index("unique_id")
    with tempfile.TemporaryDirectory() as tmp, open_store(Path(tmp) / "shop.duckdb") as store:
        ingest_frames(store, {"products": shop.products, "sales": sales,
                              "calendar_events": shop.calendar}, source="simulated shop")
        start = time.perf_counter()
        boost = explain_many(store, ids, model="LightGBM", days=H)
        seconds = time.perf_counter() - start
        ets = explain_many(store, ids[:1], model="AutoETS", days=H)[0]
    rows = []
    for ex in boost:
        d = ex.drivers[ex.drivers["ds"] == DAY].set_index("driver")["effect"]
        fc = float(ex.forecast.set_index("ds").loc[DAY, "forecast"])
        act = actual.loc[ex.unique_id]
        rows.append({"unique_id": ex.unique_id, "reference": ex.reference, "forecast": fc,
                     "actual": float(act["y"]), "promo_on_day": float(act["promo"]),
                     "forecast_vs_ref": fc / ex.reference - 1,
                     "actual_vs_ref": float(act["y"]) / ex.reference - 1,
                     **{f"effect_{k}": float(d.get(k, np.nan))
                        for k in ("events", "price", "promotion", "recent_sales", "season")}})
    table = pd.DataFrame(rows)
    example = boost[0]
    return {
        "last_training_day": str(LAST_DAY.date()), "day": str(DAY.date()), "products": len(ids),
        "seconds_fit_and_explain": round(seconds, 1),
        "double11": table.round(4).to_dict(orient="records"),
        "medians": table.drop(columns="unique_id").median().round(4).to_dict(),
        "n_forecast_below_actual": int((table["forecast"] < table["actual"]).sum()),
        "n_on_promotion_on_day": int((table["promo_on_day"] > 0).sum()),
        "events_effect_range": [round(float(table["effect_events"].min()), 4),
                                round(float(table["effect_events"].max()), 4)],
        "example": {"unique_id": example.unique_id, "notes": example.notes,
                    "en": example.sentences("en"), "zh": example.sentences("zh"),
                    "week_en": example.sentences("en", by="week")},
        "example_autoets": {"notes": ets.notes, "en": ets.sentences("en")},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--top", type=int, default=30, help="products to explain")
    parser.add_argument("--seed", type=int, default=7, help="simulated shop seed")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()
    res = run(args.top, args.seed)
    if args.json:
        args.json.write_text(json.dumps(res, indent=2, ensure_ascii=False, default=str))
    print(json.dumps({k: v for k, v in res.items() if k != "double11"}, indent=1, ensure_ascii=False,
                     default=str))
    print(pd.DataFrame(res["double11"]).to_string(index=False))


if __name__ == "__main__":
    main()
