"""Review signals: negative-sentiment alerts against the simulated shop's quality incidents, and
review signals as LightGBM covariates (simulated shop sales; Amazon review volume).

    python benchmarks/text_signals.py --json out.json [--cache /tmp/e5cache] [--amazon-only]

Alerts: the default AlertRule (thresholds chosen on shop seed 7, not reported) on shops with
seeds --seeds, sentiment from star ratings; and on --model-seeds with sentiment from the
packaged head on the review text. An alert hits when it starts between an incident's start
and 14 days after its end (also reported: strictly inside the incident).

Covariates: LightGBMGlobal (defaults, 2 threads) with and without the text covariates
(``txt_reviews_7d``, ``txt_neg_share_28d`` from trendcast.text.covariates), each window refit
at its cutoff and scored on the next h=28 days. Two ways to make the covariates known at
forecast time: lag 28 (every value needed is already known), and lag 1 with the origin's
value carried forward over the horizon; and lag 28 with the negative share alone (no review
counts: on the Amazon series they would repeat the target). Simulated shop (first
--model-seeds, model sentiment): one window per incident, cutoff 7 days after the start, for
the 3 incidents with the most reviews among those with a year of history and a full horizon
before the end; metrics over all products and over the incident products. Amazon
(All_Beauty_5 + AMAZON_FASHION_5 read with the amazon-reviews preset, asins with >= 50
reviews, daily review counts from 2013): the last 3 windows, sentiment from the head and from
ratings.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from trendcast.data.simulate import simulate_shop  # noqa: E402
from trendcast.evaluation.backtest import backtest  # noqa: E402
from trendcast.evaluation.metrics import score  # noqa: E402
from trendcast.models.boosting import LightGBMGlobal  # noqa: E402
from trendcast.text.alerts import AlertRule, match_incidents, sentiment_alerts  # noqa: E402
from trendcast.text.covariates import add_text_covariates  # noqa: E402
from trendcast.text.sentiment import SentimentModel  # noqa: E402
from trendcast.text.signals import daily_signals, rating_sentiment  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sentiment import EmbeddingCache  # noqa: E402  (benchmarks/sentiment.py)

H = 28
# mlforecast warns about empty lag features at the start of short series; LightGBM handles them
warnings.filterwarnings("ignore", message="Found null values", category=UserWarning)
DATA = ROOT.parent / "shared" / "data"
VARIANTS = {"none": None, "lag28": {"lag": 28}, "lag28_share_only": {"lag": 28, "volume_windows": ()},
            "lag1_persist": {"lag": 1}}


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


class Scorer:
    """The packaged head, with an optional on-disk embedding cache keyed by text hash (the same
    cache as benchmarks/sentiment.py)."""

    def __init__(self, cache: Path | None) -> None:
        self.model = SentimentModel.pretrained(n_threads=2)
        self.cache = EmbeddingCache(cache, self.model)

    def __call__(self, texts: pd.Series) -> np.ndarray:
        emb = self.cache.embed(texts.fillna("").astype(str).tolist(), "reviews")
        return self.model.predict_proba_embeddings(emb)[:, 1]


def alert_figures(reviews: pd.DataFrame, incidents: pd.DataFrame, end: pd.Timestamp) -> dict[str, float]:
    sig = daily_signals(reviews, end=end)
    alerts = sentiment_alerts(sig, None)
    out = match_incidents(alerts, incidents)
    strict = match_incidents(alerts, incidents, grace_days=0)
    out["precision_strict"], out["recall_strict"] = strict["precision"], strict["recall"]
    # incidents with at least min_negative negative reviews in their window: the ones a count
    # test can see at all
    day = reviews["ts"].dt.normalize()
    neg = reviews["sentiment"] < 0.5
    visible = [i for i, r in enumerate(incidents.itertuples())
               if int(((reviews["unique_id"] == r.unique_id) & neg & (day >= r.start)
                       & (day <= r.end + pd.Timedelta(days=14))).sum()) >= AlertRule().min_negative]
    found = match_incidents(alerts, incidents.iloc[visible]) if visible else {"found": 0.0}
    out["incidents_with_enough_negatives"] = float(len(visible))
    out["recall_of_those"] = found["found"] / len(visible) if visible else float("nan")
    return out


def pool(per_seed: dict[int, dict[str, float]]) -> dict[str, float]:
    """Alert figures summed over seeds."""
    if not per_seed:
        return {}
    out = {k: sum(v[k] for v in per_seed.values())
           for k in ("alerts", "incidents", "hits", "found", "incidents_with_enough_negatives")}
    out["precision"] = out["hits"] / out["alerts"] if out["alerts"] else float("nan")
    out["recall"] = out["found"] / out["incidents"]
    out["recall_of_those"] = sum(v["recall_of_those"] * v["incidents_with_enough_negatives"]
                                 for v in per_seed.values()) / out["incidents_with_enough_negatives"]
    return out


def shop_frame(shop) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    """Sales with price, promo, calendar flags and hierarchy, as the forecast service builds it."""
    from trendcast.data.store import open_store
    from trendcast.features.exog import add_covariates
    from trendcast.services.ingest import ingest_frames

    store = open_store(":memory:")
    ingest_frames(store, {"products": shop.products, "sales": shop.sales, "calendar_events": shop.calendar},
                  source="simulated shop")
    series = shop.sales[["unique_id", "ds", "y"]].copy()
    series.attrs["freq"] = "D"
    df = add_covariates(store, series)
    store.close()
    return df.sort_values(["unique_id", "ds"], ignore_index=True)


def run_windows(df: pd.DataFrame, signals: pd.DataFrame | None, cutoffs: list[pd.Timestamp],
                make, variant: dict | None) -> pd.DataFrame:  # type: ignore[no-untyped-def,type-arg]
    parts = []
    for cutoff in cutoffs:
        frame = df[df["ds"] <= cutoff + pd.Timedelta(days=H)]
        if variant is not None:
            frame = add_text_covariates(frame, signals, until=cutoff, **variant)
        cv = backtest(make, frame, h=H, n_windows=1)
        assert cv["cutoff"].iloc[0] == cutoff
        parts.append(cv)
    return pd.concat(parts, ignore_index=True)


def compare(df: pd.DataFrame, signals: pd.DataFrame, cutoffs: list[pd.Timestamp], make,  # type: ignore[no-untyped-def]
            focus: dict[str, list[str]] | None = None) -> dict[str, dict[str, float]]:
    train = df[df["ds"] <= min(cutoffs)][["unique_id", "ds", "y"]]
    out: dict[str, dict[str, float]] = {}
    for name, variant in VARIANTS.items():
        t = time.perf_counter()
        cv = run_windows(df, signals, cutoffs, make, variant)
        row = score(cv, ["LightGBM"], train=train, season_length=7).iloc[0]
        res = {k: round(float(row[k]), 4) for k in ("MAE", "WAPE", "MASE")}
        if focus:
            keep = np.zeros(len(cv), dtype=bool)
            for uid, cut in focus.items():
                keep |= (cv["unique_id"] == uid) & cv["cutoff"].isin(pd.to_datetime(cut))
            sub = score(cv[keep], ["LightGBM"], train=train, season_length=7).iloc[0]
            res.update({f"{k}_incident_products": round(float(sub[k]), 4) for k in ("MAE", "WAPE", "MASE")})
        res["seconds"] = round(time.perf_counter() - t, 1)
        out[name] = res
        log(f"  {name}: {res}")
    return out


def pick_incidents(shop, reviews: pd.DataFrame, k: int = 3) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    inc = shop.truth.incidents.copy()
    first, last = shop.sales["ds"].min(), shop.sales["ds"].max()
    inc["cutoff"] = inc["start"] + pd.Timedelta(days=7)
    inc = inc[(inc["cutoff"] >= first + pd.Timedelta(days=365))
              & (inc["cutoff"] + pd.Timedelta(days=H) <= last)]
    day = reviews["ts"].dt.normalize()
    inc["reviews"] = [int(((reviews["unique_id"] == r.unique_id) & (day >= r.start)
                           & (day <= r.end)).sum()) for r in inc.itertuples()]
    return inc.sort_values("reviews", ascending=False).head(k).sort_values("cutoff")


def amazon_frame(folder: Path, scorer: Scorer) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    from trendcast.data.ingest import load_file

    reviews = pd.concat([load_file(folder / f, "reviews", fmt="amazon-reviews")
                         for f in ("All_Beauty_5.json", "AMAZON_FASHION_5.json")], ignore_index=True)
    reviews = reviews[reviews["ts"] >= "2013-01-01"]
    counts = reviews.groupby("unique_id").size()
    reviews = reviews[reviews["unique_id"].isin(counts[counts >= 50].index)].reset_index(drop=True)
    day = reviews["ts"].dt.normalize()
    y = reviews.assign(ds=day).groupby(["unique_id", "ds"]).size().rename("y").reset_index()
    grid = []
    end = day.max()
    for uid, first in y.groupby("unique_id")["ds"].min().items():
        grid.append(pd.DataFrame({"unique_id": uid, "ds": pd.date_range(first, end, freq="D")}))
    df = pd.concat(grid).merge(y, on=["unique_id", "ds"], how="left").fillna({"y": 0.0})
    by_model = reviews.assign(sentiment=scorer(reviews["text"]))
    by_rating = reviews.assign(sentiment=rating_sentiment(reviews["rating"]))
    return df.sort_values(["unique_id", "ds"], ignore_index=True), by_model, by_rating


def amazon_volume(folder: Path, scorer: Scorer) -> dict[str, object]:
    """Part 3: Amazon daily review counts with and without the review covariates."""
    am, am_model, am_rating = amazon_frame(folder, scorer)
    last = am["ds"].max()
    am_cutoffs = [last - pd.Timedelta(days=H * k) for k in (3, 2, 1)]

    def make_am() -> LightGBMGlobal:
        return LightGBMGlobal(n_jobs=2, static_features=(), min_child_samples=20)

    am_res = {}
    for name, rev in (("model", am_model), ("rating", am_rating)):
        log(f"amazon, sentiment from {name}")
        am_res[f"sentiment_{name}"] = compare(am, daily_signals(rev, end=last), am_cutoffs, make_am)
    return {"series": int(am["unique_id"].nunique()), "days": int(am["ds"].nunique()),
            "reviews": int(am["y"].sum()), "cutoffs": [str(c.date()) for c in am_cutoffs],
            "results": am_res}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", type=Path, required=True)
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    ap.add_argument("--model-seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--amazon", type=Path, default=DATA / "amazon_reviews_en")
    ap.add_argument("--cache", type=Path, default=None)
    ap.add_argument("--amazon-only", action="store_true", help="only part 3 (Amazon review volume)")
    args = ap.parse_args()
    t0 = time.perf_counter()
    result: dict[str, object] = {}
    if args.amazon_only:
        result["amazon_volume"] = amazon_volume(args.amazon, Scorer(args.cache))
        result["seconds"] = round(time.perf_counter() - t0, 1)
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2, default=str), encoding="utf-8")
        print(json.dumps(result, indent=2, default=str))
        return

    # 1. alerts vs incidents
    per_seed = {}
    for seed in args.seeds:
        shop = simulate_shop(seed=seed)
        r = shop.reviews.assign(sentiment=rating_sentiment(shop.reviews["rating"]))
        per_seed[seed] = alert_figures(r, shop.truth.incidents, shop.sales["ds"].max())
        log(f"alerts seed {seed} (ratings): {per_seed[seed]}")
    scorer = Scorer(args.cache)
    by_model, diagnostics, scored_shops = {}, {}, {}
    for seed in args.model_seeds:
        shop = simulate_shop(seed=seed)
        log(f"scoring {shop.reviews['text'].nunique():,} distinct review texts of shop seed {seed}")
        t = time.perf_counter()
        scored = shop.reviews.assign(sentiment=scorer(shop.reviews["text"]))
        neg, stars = scored["sentiment"] < 0.5, scored["rating"]
        diagnostics[seed] = {"scoring_seconds": round(time.perf_counter() - t, 1),
                             "negative_share_model": round(float(neg.mean()), 4),
                             "negative_share_rating_le_2": round(float((stars <= 2).mean()), 4),
                             "model_negative_among_4_5_stars": round(float(neg[stars >= 4].mean()), 4),
                             "model_negative_among_3_stars": round(float(neg[stars == 3].mean()), 4),
                             "model_negative_among_1_2_stars": round(float(neg[stars <= 2].mean()), 4)}
        by_model[seed] = alert_figures(scored, shop.truth.incidents, shop.sales["ds"].max())
        scored_shops[seed] = (shop, scored)
        log(f"alerts seed {seed} (model): {by_model[seed]}")
    result["alerts"] = {"ratings_by_seed": per_seed, "ratings_pooled": pool(per_seed),
                        "ratings_pooled_on_model_seeds": pool({k: per_seed[k] for k in args.model_seeds
                                                               if k in per_seed}),
                        "model_by_seed": by_model, "model_pooled": pool(by_model),
                        "model_diagnostics": diagnostics}

    # 2. covariates on the simulated shop
    shop, scored = scored_shops[args.model_seeds[0]]
    incidents = pick_incidents(shop, scored)
    cutoffs = sorted(incidents["cutoff"].tolist())
    log(f"covariate windows (cutoffs): {[str(c.date()) for c in cutoffs]}")
    df = shop_frame(shop)
    signals = daily_signals(scored, end=shop.sales["ds"].max())

    def make() -> LightGBMGlobal:
        return LightGBMGlobal(n_jobs=2)

    focus = {r.unique_id: [r.cutoff] for r in incidents.itertuples()}
    result["shop_covariates"] = {
        "seed": args.model_seeds[0], "cutoffs": [str(c.date()) for c in cutoffs],
        "incidents": [{"unique_id": r.unique_id, "start": str(r.start.date()), "end": str(r.end.date()),
                       "reviews_during": r.reviews} for r in incidents.itertuples()],
        "results": compare(df, signals, cutoffs, make, focus)}

    # 3. Amazon review volume
    result["amazon_volume"] = amazon_volume(args.amazon, scorer)
    result["seconds"] = round(time.perf_counter() - t0, 1)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2, default=str), encoding="utf-8")
    print(json.dumps(result, indent=2, default=str))


if __name__ == "__main__":
    main()
