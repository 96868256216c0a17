"""Cold start on M5 CA_1: products launched inside the data, forecast from their category's
launch curve (issue 15, item 5).

    python benchmarks/coldstart.py --data ../shared/data/m5_ca1 --json coldstart.json
    python benchmarks/replay.py --no-replay --coldstart          # the same, as a replay section

Protocol. A product's launch is its first day with a price (M5 lists every item from d_1 with
zero sales before it is on sale) or its first sale, whichever is earlier. Test products:
launched after d_1000 with 28 days of data after their launch (up to d_1941). For each launch
day T, :class:`trendcast.models.coldstart.ColdStart` is fitted on the sales before T only
(launch curves of the products that launched between d_29 and T), then forecasts T .. T+27
with no history of the product. Compared, by MAE per product and day over those 28 days:

- ``zero``: nothing sells;
- ``category_mean``: the mean daily units of a product of the category over the 28 days
  before T (products launched by then);
- ``launch_mean``: the mean daily units of the category's launched products over their first
  28 days (a flat launch level: the curve without its shape, band or weekdays);
- ``profile``: the launch curve x price band x weekday (the point forecast, a mean), and
  ``profile_median`` (its 0.5 quantile, what MAE rewards), and ``profile_no_band``.

When to switch to the product's own history (``min_age``): at ages 7, 14, 28 and 56 days the
curve, updated with what the product sold so far, against the mean of its own last
min(age, 28) days, over the next 28 days (same products, the ones with age + 28 days of data).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from trendcast.models.coldstart import ColdStart, anchors, first_sales  # noqa: E402

H = 28
M5_START = pd.Timestamp("2011-01-29")  # d_1
AGES = (7, 14, 28, 56)


def day(n: int) -> pd.Timestamp:
    return M5_START + pd.Timedelta(days=n - 1)


def coldstart_backtest(sales: pd.DataFrame, products: pd.DataFrame, *,
                       first_launch: pd.Timestamp | None = None, profile_days: int = 91) -> dict:
    """The protocol of the module docstring on ``sales`` (long, with ``price``) and
    ``products`` (``category, list_price, launch_date``); returns per-product rows and a
    summary."""
    first_launch = day(1001) if first_launch is None else first_launch
    sales = sales.assign(unique_id=sales["unique_id"].astype(str))
    products = products.assign(unique_id=products["unique_id"].astype(str))
    start, end = sales["ds"].min(), sales["ds"].max()
    anchor = anchors(products, first_sales(sales))
    cat = products.set_index("unique_id")["category"].astype(str)
    # only the rows a fit or a forecast reads: launch windows and the test products' first days
    inside = anchor[anchor >= start + pd.Timedelta(days=28)]
    age = (sales["ds"] - sales["unique_id"].map(inside)).dt.days
    window = sales[age.between(0, max(profile_days, max(AGES) + H) - 1)]
    # category-mean baseline: units per launched product per day, per category
    daily = sales.assign(category=sales["unique_id"].map(cat)).groupby(["category", "ds"])["y"].sum()
    tests = anchor[(anchor >= first_launch) & (anchor + pd.Timedelta(days=H - 1) <= end)]
    rows, switch = [], []
    for t, ids in tests.groupby(tests).groups.items():
        t = pd.Timestamp(t)
        past = window[window["ds"] < t]
        model = ColdStart(profile_days=profile_days).fit(past, products, start=start,
                                                         end=t - pd.Timedelta(days=1))
        flat = ColdStart(profile_days=profile_days, bands=1).fit(past, products, start=start,
                                                                 end=t - pd.Timedelta(days=1))
        chosen = products[products["unique_id"].isin(set(ids))]
        origin = t - pd.Timedelta(days=1)
        fc = model.predict(H, chosen, None, origin=origin, quantiles=[0.5])
        fc_flat = flat.predict(H, chosen, None, origin=origin)
        actual = window[window["unique_id"].isin(set(ids)) & (window["ds"] >= t)
                        & (window["ds"] <= t + pd.Timedelta(days=H - 1))]
        lo = t - pd.Timedelta(days=H)
        alive = anchor[anchor <= lo]
        for uid in ids:
            c = cat[uid]
            y = (actual[actual["unique_id"] == uid].set_index("ds")["y"]
                 .reindex(pd.date_range(t, periods=H), fill_value=0.0).to_numpy())
            mine = fc[fc["unique_id"] == uid]
            n_alive = int((cat.reindex(alive.index) == c).sum())
            part = daily.loc[c]
            cat_mean = float(part[(part.index >= lo) & (part.index < t)].sum()) / (H * max(n_alive, 1))
            launch_mean = float(model.profile(c)["units"].iloc[:H].mean())
            point = {"zero": np.zeros(H), "category_mean": np.full(H, cat_mean),
                     "launch_mean": np.full(H, launch_mean), "profile": mine[model.alias].to_numpy(),
                     "profile_median": mine[f"{model.alias}-q-0.5"].to_numpy(),
                     "profile_no_band": fc_flat[fc_flat["unique_id"] == uid][flat.alias].to_numpy()}
            row = {"unique_id": uid, "category": c, "launch": str(t.date()), "units_28d": float(y.sum())}
            for name, f in point.items():
                row[name] = float(np.abs(y - f).mean())
                row[f"{name}_total"] = float(abs(y.sum() - f.sum()))
                row[f"{name}_weekly"] = float(np.abs(y.reshape(4, 7).sum(1) - f.reshape(4, 7).sum(1)).mean())
            rows.append(row)
        for a in AGES:
            origin = t + pd.Timedelta(days=a - 1)
            if origin + pd.Timedelta(days=H) > end:
                continue
            hist = window[window["unique_id"].isin(set(ids)) & (window["ds"] <= origin)]
            fc = model.predict(H, chosen, hist, origin=origin, quantiles=[0.5])
            nxt = window[window["unique_id"].isin(set(ids)) & (window["ds"] > origin)
                         & (window["ds"] <= origin + pd.Timedelta(days=H))]
            for uid in ids:
                y = (nxt[nxt["unique_id"] == uid].set_index("ds")["y"]
                     .reindex(pd.date_range(origin + pd.Timedelta(days=1), periods=H), fill_value=0.0)
                     .to_numpy())
                own = hist[hist["unique_id"] == uid].set_index("ds")["y"].reindex(
                    pd.date_range(origin - pd.Timedelta(days=min(a, H) - 1), origin), fill_value=0.0)
                mine = fc[fc["unique_id"] == uid]
                f = mine[model.alias].to_numpy()
                switch.append({"unique_id": uid, "age": a,
                               "profile": float(np.abs(y - f).mean()),
                               "profile_median": float(np.abs(
                                   y - mine[f"{model.alias}-q-0.5"].to_numpy()).mean()),
                               "own_mean": float(np.abs(y - own.mean()).mean()),
                               "profile_total": float(abs(y.sum() - f.sum())),
                               "own_mean_total": float(abs(y.sum() - H * own.mean()))})
    table = pd.DataFrame(rows)
    methods = ["zero", "category_mean", "launch_mean", "profile", "profile_median", "profile_no_band"]
    summary = {"products": len(table), "launch_days": int(table["launch"].nunique()),
               "mae": {m: round(float(table[m].mean()), 4) for m in methods},
               "mae_weekly_units": {m: round(float(table[f"{m}_weekly"].mean()), 3) for m in methods},
               "mae_28d_total": {m: round(float(table[f"{m}_total"].mean()), 3) for m in methods},
               "mae_by_category": {c: {m: round(float(p[m].mean()), 4) for m in methods} | {"n": len(p)}
                                   for c, p in table.groupby("category")},
               "profile_beats_zero_share": round(float((table["profile_median"] < table["zero"]).mean()), 3)}
    sw = pd.DataFrame(switch)
    if len(sw):
        kinds = ("profile", "profile_median", "own_mean", "profile_total", "own_mean_total")
        summary["switch"] = {int(a): {"n": len(p), **{m: round(float(p[m].mean()), 4) for m in kinds}}
                             for a, p in sw.groupby("age")}
    return {"summary": summary, "products": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path,
                        default=Path(__file__).resolve().parents[2] / "shared/data/m5_ca1")
    parser.add_argument("--store", default="CA_1")
    parser.add_argument("--first-launch", type=int, default=1001, help="test launches from this d_ day")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    from trendcast.data.m5 import read_m5

    m5 = read_m5(args.data)
    products = m5.products[m5.products["store"] == args.store].reset_index(drop=True)
    sales = m5.sales[m5.sales["unique_id"].isin(set(products["unique_id"]))
                     & (m5.sales["ds"] <= day(1941))].reset_index(drop=True)
    out = coldstart_backtest(sales, products, first_launch=day(args.first_launch))
    print(json.dumps(out["summary"], indent=2))
    if args.json:
        args.json.write_text(json.dumps(out, indent=2, default=str))


if __name__ == "__main__":
    main()
