"""Cleaning on the simulated shop, whose stock-outs are known (``demo_truth``).

Run through ``benchmarks/catalogues.py --only cleaning`` (or ``python benchmarks/cleaning_bench.py``).

- Detection: the stock-out days cleaning infers from zero runs (no stock file), against the
  simulator's stock-out days: precision and recall per seed, on every day and on the runs
  whose expected demand (``demo_truth``'s ``expected``, summed over the run) is at least 3
  and at least 10 units. Seeds 11, 13, 3 and 5 were used to choose ``alpha`` and
  ``alpha_repeat``; 7, 1, 2 are reported. The frame carries the sales' price and promo, as
  the run path gives them to cleaning. ``oracle``: the best recall at precision 0.8 of a
  detector that knew the simulator's expected demand (an upper bound).
- Effect: rolling backtests (6 windows of 28 days, the last six months) with and without
  ``clean``, through the run path, scored against the simulator's demand (a stock-out day
  counts the units it hid, not its censored zero); WAPE on "affected" products (stock-out
  days in the window's training data), "recent" ones (within 28 days of the cutoff) and
  "unaffected" ones (no stock-out anywhere), and with the test window's stock-out days left
  out. The "truth" variant fits on the sales with the units each stock-out hid put back: the
  most any stock-out cleaning could gain.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

SEEDS = (7, 1, 2)
MODELS = ("AutoETS", "LightGBM")


def _truth_runs(shop: object) -> pd.DataFrame:
    """The simulator's stock-out days, each with its run's expected demand (``run_expected``)."""
    truth = shop.truth.stockouts.assign(ds=lambda d: pd.to_datetime(d["ds"]))
    truth = truth.sort_values(["unique_id", "ds"]).reset_index(drop=True)
    new_run = truth.groupby("unique_id")["ds"].diff() != pd.Timedelta(days=1)
    return truth.assign(run_expected=truth.groupby(new_run.cumsum())["expected"].transform("sum"))


def detection(seed: int, **options: float) -> dict:
    """Inferred stock-out days against the truth: on every day, and on the runs whose
    expected demand is at least 3 and at least 10 units (the found days on the other runs
    left out of both counts)."""
    from trendcast.data.simulate import simulate_shop
    from trendcast.features.cleaning import CleaningOptions, clean_series
    from trendcast.features.series import fill_series

    shop = simulate_shop(n_products=240, seed=seed)
    # the sales with their price and promo, as the run path's model frames carry them
    series = fill_series(shop.sales, "D").merge(shop.sales.drop(columns="y"), on=["unique_id", "ds"],
                                                how="left")
    options = CleaningOptions(**options)
    _, changes = clean_series(series, calendar=shop.calendar, options=options)
    found = changes[changes["reason"].str.startswith("stock-out")][["unique_id", "ds"]]
    truth = _truth_runs(shop)
    row = {"seed": seed, "alpha": options.alpha, "alpha_repeat": options.alpha_repeat,
           "found_days": len(found), "true_days": len(truth)}
    for floor in (0, 3, 10):
        hidden = truth[truth["run_expected"] < floor]
        seen = found.merge(hidden[["unique_id", "ds"]], how="left", indicator=True)
        seen = seen[seen["_merge"] == "left_only"].drop(columns="_merge")
        kept = truth[truth["run_expected"] >= floor]
        hits = len(seen.merge(kept, on=["unique_id", "ds"]))
        tag = "" if floor == 0 else f"_exp{floor}"
        if floor:
            row[f"true_share_below{floor}"] = round(1 - len(kept) / len(truth), 3)
        row[f"precision{tag}"] = round(hits / max(len(seen), 1), 3)
        row[f"recall{tag}"] = round(hits / max(len(kept), 1), 3)
    row["outliers"] = int((changes["reason"] == "outlier").sum())
    return row


def _expected_demand(seed: int, n_products: int = 240) -> tuple[object, np.ndarray, np.ndarray]:
    """The simulator's expected demand (products x days) and dispersion for ``seed``, rebuilt
    from its own steps and seeded streams (checked against ``demo_truth``'s ``expected``)."""
    import trendcast.data.simulate as sim
    from trendcast.data.calendar import festival_calendar

    shop = sim.simulate_shop(n_products=n_products, seed=seed)
    first, last = pd.Timestamp("2023-01-01"), pd.Timestamp("2025-12-31")  # simulate_shop's defaults
    dates = pd.date_range(first, last, freq="D")
    rng = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(10)]
    calendar = festival_calendar(first, last + pd.DateOffset(years=1))
    cat = sim._catalogue(rng[0], n_products, dates)
    par = sim._parameters(rng[1], cat)
    _, confidence = sim._macro(rng[2], dates)
    fest_log, fest_promo = sim._festival_effects(calendar, dates)
    price, promo = sim._prices(rng[3], cat, fest_promo)
    _, incident = sim._incidents(rng[4], cat, par, dates)
    lam = sim._expected_demand(cat, par, dates, fest_log, price, promo, incident, confidence)
    truth = shop.truth.stockouts
    rows, cols = pd.Index(cat.ids).get_indexer(truth["unique_id"]), dates.get_indexer(truth["ds"])
    if not np.allclose(np.round(lam[rows, cols], 4), truth["expected"]):
        raise RuntimeError("the rebuilt expected demand no longer matches demo_truth: update "
                           "_expected_demand to follow simulate_shop")
    return shop, lam, par.dispersion


def oracle(seed: int) -> dict:
    """The best a zero-run detector could do knowing the simulator's true expected demand and
    dispersion: every zero run of 3+ days ranked by its probability without a stock-out, the
    highest recall at which precision is still >= 0.8 (an upper bound for any detector that
    judges each run on its own sales)."""
    shop, lam, size = _expected_demand(seed)
    dates = pd.date_range("2023-01-01", "2025-12-31", freq="D")
    ids = shop.truth.products["unique_id"].to_numpy()
    y = shop.sales.pivot(index="unique_id", columns="ds", values="y").reindex(index=ids, columns=dates)
    truth = set(zip(shop.truth.stockouts["unique_id"], pd.to_datetime(shop.truth.stockouts["ds"]),
                    strict=True))
    rows = []
    for p, uid in enumerate(ids):
        zero = (y.iloc[p].to_numpy() == 0).astype(int)
        edges = np.diff(np.concatenate([[0], zero, [0]]))
        for start, end in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True):
            if end - start >= 3:
                k = size[p]
                log_p = float((k * np.log(k / (k + lam[p, start:end]))).sum())
                hits = sum((uid, d) in truth for d in dates[start:end])
                rows.append((log_p, end - start, hits))
    ranked = pd.DataFrame(rows, columns=["log_p", "days", "hits"]).sort_values("log_p")
    precision = ranked["hits"].cumsum() / ranked["days"].cumsum()
    recall = ranked["hits"].cumsum() / len(truth)
    return {"seed": seed, "oracle_recall_at_precision_0.8": round(float(recall[precision >= 0.8].max()), 3)}


# a variant: False (raw), True or CleaningOptions (cleaned), "truth" (see effect)
VARIANTS: dict[str, object] = {"raw": False, "clean": True}


def effect(n_jobs: int, models: tuple[str, ...] = MODELS, seed: int = 7,
           variants: dict[str, object] | None = None) -> list[dict]:
    """WAPE with and without cleaning, scored against the simulator's demand: the sales, and
    on a stock-out day the units the stock-out hid (``demo_truth``'s ``demand``), since a
    censored zero is not what a forecast should have said. Per window: "affected" products
    had stock-out days in that window's training data, "recent" ones within the 28 days
    before its cutoff (a subset of affected), "unaffected" ones have no stock-out anywhere.
    ``variants`` maps a tag to False (raw sales), True or a ``CleaningOptions`` (cleaned), or
    "truth": no cleaning, the stock-out days' sales replaced by the units they hid."""
    from trendcast.data.simulate import simulate_shop
    from trendcast.engine.runner import FrameSource, Runner
    from trendcast.models.registry import make_model

    shop = simulate_shop(n_products=240, seed=seed)
    truth = _truth_runs(shop)
    # "truth": no cleaning, the stock-out days' sales replaced by the units they hid (the best
    # any stock-out cleaning could give the models)
    uncensored = shop.sales.merge(truth[["unique_id", "ds", "demand"]], on=["unique_id", "ds"], how="left")
    uncensored = uncensored.assign(y=uncensored["demand"].fillna(uncensored["y"])).drop(columns="demand")
    sources = {"sales": FrameSource(shop.sales, shop.products, shop.calendar),
               "truth": FrameSource(uncensored, shop.products, shop.calendar)}
    variants = variants or VARIANTS
    rows = []
    for name in models:
        scored = {}
        for tag, clean in variants.items():
            model = make_model(name, n_jobs=n_jobs)
            truth_fill = isinstance(clean, str) and clean == "truth"
            cv = Runner([model], n_jobs=n_jobs, clean=False if truth_fill else clean).cross_validation(
                sources["truth" if truth_fill else "sales"], 28, n_windows=6)
            scored[tag] = _groups(cv.forecasts.rename(columns={model.alias: "fc"}), truth)
        for group in ("affected", "recent", "unaffected"):
            row = {"model": name, "products": group}
            for tag, cv in scored.items():
                part = cv[cv["group_" + group]]
                row["series_windows"] = int(part.groupby(["unique_id", "cutoff"]).ngroups)
                row[f"wape_{tag}"] = round(_wape(part), 4)
                row[f"wape_censored_excluded_{tag}"] = round(_wape(part[~part["stockout"]]), 4)
            for tag in [t for t in scored if t != "raw" and "raw" in scored]:
                row[f"change_{tag}"] = round(row[f"wape_{tag}"] / row["wape_raw"] - 1, 4)
            rows.append(row)
            print(row, flush=True)
    return rows


def _groups(cv: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    """The backtest rows with ``demand`` (sales, or the hidden units on a stock-out day),
    ``stockout`` and the product groups of each window."""
    cv = cv.merge(truth[["unique_id", "ds", "demand"]], on=["unique_id", "ds"], how="left")
    cv["stockout"] = cv["demand"].notna()
    cv["demand"] = cv["demand"].fillna(cv["y"])
    pairs = cv[["unique_id", "cutoff"]].drop_duplicates().merge(truth[["unique_id", "ds"]], on="unique_id")
    before = pairs[pairs["ds"] <= pairs["cutoff"]]
    recent = before[before["ds"] > before["cutoff"] - pd.Timedelta(days=28)]
    keys = ["unique_id", "cutoff"]
    cv["group_affected"] = cv.set_index(keys).index.isin(before.set_index(keys).index)
    cv["group_recent"] = cv.set_index(keys).index.isin(recent.set_index(keys).index)
    cv["group_unaffected"] = ~cv["unique_id"].isin(truth["unique_id"])
    return cv


def _wape(cv: pd.DataFrame) -> float:
    return float((cv["demand"] - cv["fc"]).abs().sum() / cv["demand"].abs().sum())


def cleaning(n_jobs: int = 2) -> dict:
    found = [detection(s) | oracle(s) for s in SEEDS]
    for row in found:
        print(row, flush=True)
    return {"detection": found, "effect": effect(n_jobs)}


if __name__ == "__main__":
    import json

    print(json.dumps(cleaning(), indent=2))
