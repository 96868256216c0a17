"""Purchase propensity: the chance that a user buys an item (or any item of a category) in the
next ``days`` days, from their views, carts, favourites and past purchases.

Events are the store's ``events`` rows: ``user_id, item_id, category_id, event_type, ts`` with
``event_type`` in view / cart / fav / buy (Taobao's ``pv`` is read as ``view``). At a cutoff
time every (user, item) or (user, category) pair with activity in the last ``lookback_days``
is a candidate; its features are counts per behaviour over 1, 3 and 7 days, hours since the
last action of each type, and the activity and conversion of the user, the item and the
category. The label is "bought in (cutoff, cutoff + days]". Models train on earlier cutoffs
and are tested on the last one whose label window the data covers: never on random rows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from trendcast.errors import DataValidationError, ModelError
from trendcast.schema import EVENT_TYPES

Level = Literal["item", "category"]
LEVELS: tuple[str, ...] = ("item", "category")
WINDOWS: tuple[int, ...] = (1, 3, 7)
KEY = {"item": ("user_id", "item_id"), "category": ("user_id", "category_id")}
_HOUR = pd.Timedelta(hours=1)
_DAY = pd.Timedelta(days=1)


# Input ---------------------------------------------------------------------------------

def prepare_events(events: pd.DataFrame) -> pd.DataFrame:
    """Check and normalise a behaviour log (``user_id, item_id, category_id, event_type, ts``).

    Event types are lower-cased and aliases mapped (pv -> view, purchase -> buy, ...); ids become
    strings; a missing ``category_id`` becomes ``""``. Raises ``DataValidationError`` on a missing
    column, an unknown event type or an unparseable time.
    """
    from trendcast.data.ingest import EVENT_ALIASES

    need = ("user_id", "item_id", "event_type", "ts")
    missing = [c for c in need if c not in events.columns]
    if missing:
        raise DataValidationError(
            f"behaviour events lack column(s) {missing}; they need user_id, item_id, "
            f"category_id, event_type (view|cart|fav|buy) and ts; got {list(events.columns)}")
    df = pd.DataFrame({
        "user_id": events["user_id"].astype(str).to_numpy(),
        "item_id": events["item_id"].astype(str).to_numpy(),
        "category_id": (events["category_id"].astype("string").fillna("").astype(str).to_numpy()
                        if "category_id" in events.columns else ""),
    })
    text = events["event_type"].astype("string").str.strip().str.lower()
    kind = text.map(EVENT_ALIASES).fillna(text)
    bad = ~kind.isin(EVENT_TYPES).to_numpy()
    if bad.any():
        raise DataValidationError(
            f"{int(bad.sum()):,} event(s) have an unknown event_type, e.g. "
            f"{text[bad].iloc[0]!r}; use one of {', '.join(EVENT_TYPES)} (or pv, purchase, ...)")
    df["event_type"] = kind.to_numpy()
    try:
        df["ts"] = pd.to_datetime(events["ts"]).to_numpy()
    except (ValueError, TypeError) as exc:
        raise DataValidationError(f"events column 'ts' has values that are not times: {exc}") from None
    if df["ts"].isna().any():
        raise DataValidationError(f"{int(df['ts'].isna().sum()):,} event(s) have no time stamp 'ts'")
    return df.sort_values("ts", kind="stable", ignore_index=True)


# Features ------------------------------------------------------------------------------

def _counts(ev: pd.DataFrame, keys: list[str], windows: Sequence[int], prefix: str) -> pd.DataFrame:
    """Counts per event type over each window (``age_h`` hours before the cutoff) by ``keys``."""
    parts = []
    for w in windows:
        sub = ev[ev["age_h"] < 24 * w]
        c = sub.groupby([*keys, "event_type"]).size().unstack("event_type", fill_value=0)
        c = c.reindex(columns=list(EVENT_TYPES), fill_value=0)
        c.columns = [f"{prefix}_{t}_{w}d" for t in EVENT_TYPES]
        parts.append(c)
    return pd.concat(parts, axis=1).fillna(0.0)


def _recency(ev: pd.DataFrame, keys: list[str], prefix: str) -> pd.DataFrame:
    """Hours since the last action of each type (NaN when none in the lookback)."""
    r = ev.groupby([*keys, "event_type"])["age_h"].min().unstack("event_type")
    r = r.reindex(columns=list(EVENT_TYPES))
    r.columns = [f"{prefix}_hrs_since_{t}" for t in EVENT_TYPES]
    g = ev.groupby(keys)["age_h"]
    r[f"{prefix}_hrs_since_any"] = g.min()
    r[f"{prefix}_hrs_since_first"] = g.max()
    return r


def _entity(ev: pd.DataFrame, key: str, prefix: str, distinct: str, lookback: int) -> pd.DataFrame:
    """Activity and conversion of a user, an item or a category over the lookback."""
    c = _counts(ev, [key], [lookback], prefix)
    c.columns = [f"{prefix}_{t}" for t in EVENT_TYPES]
    total = c.sum(axis=1)
    c[f"{prefix}_buy_rate"] = c[f"{prefix}_buy"] / (total + 1.0)  # smoothed: one phantom non-buy
    c[f"{prefix}_buy_per_view"] = c[f"{prefix}_buy"] / (c[f"{prefix}_view"] + 1.0)
    c[f"{prefix}_cart_rate"] = c[f"{prefix}_cart"] / (total + 1.0)
    c[f"{prefix}_n_{distinct.removesuffix('_id')}"] = ev.groupby(key)[distinct].nunique()
    return c


def build_features(
    events: pd.DataFrame,
    cutoff: pd.Timestamp,
    *,
    level: Level = "item",
    windows: Sequence[int] = WINDOWS,
    lookback_days: int | None = None,
) -> pd.DataFrame:
    """Candidate pairs at ``cutoff`` and their features, from events at or before it.

    Args:
        events: a frame from :func:`prepare_events`.
        cutoff: the time the prediction is made; nothing after it is read.
        level: ``item`` (user x item pairs) or ``category`` (user x category pairs).
        windows: count windows in days.
        lookback_days: a pair is a candidate when it has any event this many days before the
            cutoff; user, item and category aggregates use the same span. Default max(windows).

    Returns:
        One row per candidate pair: the key columns then numeric features.
    """
    _check_level(level)
    lookback = int(lookback_days or max(windows))
    cutoff = pd.Timestamp(cutoff)
    ev = events[(events["ts"] <= cutoff) & (events["ts"] > cutoff - lookback * _DAY)]
    key = list(KEY[level])
    if level == "category":
        ev = ev[ev["category_id"] != ""]
    if ev.empty:
        return pd.DataFrame(columns=key)
    ev = ev.assign(age_h=(cutoff - ev["ts"]) / _HOUR)
    pair = pd.concat([_counts(ev, key, windows, "pair"), _recency(ev, key, "pair")], axis=1)
    pair = pair.reset_index()
    frames = [("user_id", _entity(ev, "user_id", "user", key[1], lookback))]
    if level == "item":
        frames.append(("item_id", _entity(ev, "item_id", "item", "user_id", lookback)))
        item_cat = ev.drop_duplicates("item_id", keep="last").set_index("item_id")["category_id"]
        pair["category_id"] = pair["item_id"].map(item_cat)
        uc = _counts(ev, ["user_id", "category_id"], [lookback], "ucat")
        uc.columns = [f"ucat_{t}" for t in EVENT_TYPES]
        pair = pair.merge(uc.reset_index(), on=["user_id", "category_id"], how="left")
    frames.append(("category_id", _entity(ev, "category_id", "cat", "user_id", lookback)))
    for col, table in frames:
        pair = pair.merge(table, left_on=col, right_index=True, how="left")
    if level == "item":
        pair = pair.drop(columns="category_id")
    feats = [c for c in pair.columns if c not in key]
    pair[feats] = pair[feats].astype(float)
    return pair


def add_labels(pairs: pd.DataFrame, events: pd.DataFrame, cutoff: pd.Timestamp, days: int,
               *, level: Level = "item") -> pd.DataFrame:
    """``pairs`` plus ``label``: 1 when the pair has a buy in (cutoff, cutoff + days]."""
    key = list(KEY[level])
    cutoff = pd.Timestamp(cutoff)
    buys = events[(events["event_type"] == "buy") & (events["ts"] > cutoff)
                  & (events["ts"] <= cutoff + days * _DAY)]
    bought = buys[key].drop_duplicates().assign(label=1.0)
    out = pairs.merge(bought, on=key, how="left")
    out["label"] = out["label"].fillna(0.0)
    return out


def make_dataset(events: pd.DataFrame, cutoffs: Sequence[pd.Timestamp], days: int, *,
                 level: Level = "item", windows: Sequence[int] = WINDOWS,
                 lookback_days: int | None = None) -> pd.DataFrame:
    """Features and labels of every candidate pair at each cutoff, with a ``cutoff`` column."""
    parts = []
    for c in cutoffs:
        f = build_features(events, c, level=level, windows=windows, lookback_days=lookback_days)
        if len(f):
            parts.append(add_labels(f, events, c, days, level=level).assign(cutoff=pd.Timestamp(c)))
    if not parts:
        return pd.DataFrame(columns=[*KEY[level], "label", "cutoff"])
    return pd.concat(parts, ignore_index=True)


# Time split ----------------------------------------------------------------------------

@dataclass(frozen=True)
class TimeSplit:
    """Cutoffs of a time-based split; every training label window ends by ``test_cutoff``."""

    train_cutoffs: tuple[pd.Timestamp, ...]
    test_cutoff: pd.Timestamp
    now: pd.Timestamp
    days: int

    def as_dict(self) -> dict[str, Any]:
        return {"train_cutoffs": [str(c) for c in self.train_cutoffs],
                "test_cutoff": str(self.test_cutoff), "now": str(self.now), "days": self.days,
                "test_label_window": [str(self.test_cutoff),
                                      str(self.test_cutoff + self.days * _DAY)]}


def time_split(events: pd.DataFrame, days: int, *, max_train_cutoffs: int = 7,
               min_history_days: int = 1) -> TimeSplit:
    """Daily cutoffs at midnight: ``now`` is the midnight after the last event, the test cutoff
    is ``now - days`` and the training cutoffs are the ``max_train_cutoffs`` latest midnights
    whose label windows end at or before the test cutoff and that have at least
    ``min_history_days`` of events before them."""
    if not isinstance(days, int) or days < 1:
        raise ModelError(f"days must be a whole number >= 1, got {days!r}")
    if events.empty:
        raise DataValidationError("no behaviour events; ingest some (trendcast ingest FILE --kind "
                                  "events, or --format taobao)")
    start, last = events["ts"].min(), events["ts"].max()
    now = last.normalize() + _DAY
    test = now - days * _DAY
    earliest = start.normalize() + min_history_days * _DAY
    train: list[pd.Timestamp] = []
    c = test - days * _DAY
    while c >= earliest and len(train) < max_train_cutoffs:
        train.append(c)
        c -= _DAY
    span = (last - start) / _DAY
    if not train:
        raise DataValidationError(
            f"too little behaviour data for a {days}-day propensity model: events cover "
            f"{span:.1f} days ({start} .. {last}); a time split needs at least "
            f"{2 * days + min_history_days} days (history, a training label window and a test "
            f"window). Ingest more events or use a shorter --days")
    return TimeSplit(tuple(sorted(train)), test, now, days)


# Models --------------------------------------------------------------------------------

def _baseline_matrix(df: pd.DataFrame, windows: Sequence[int]) -> np.ndarray:
    """Recency (log hours since the pair's last action) and frequency (log counts of all its
    actions per window): behaviour types, users and items are not told apart."""
    cols = [np.log1p(df["pair_hrs_since_any"].to_numpy(dtype=float))]
    for w in windows:
        total = df[[f"pair_{t}_{w}d" for t in EVENT_TYPES]].sum(axis=1).to_numpy(dtype=float)
        cols.append(np.log1p(total))
    return np.column_stack(cols)


@dataclass
class PropensityModel:
    """LightGBM on all features, or the recency-frequency logistic baseline."""

    kind: Literal["lightgbm", "baseline"] = "lightgbm"
    windows: tuple[int, ...] = WINDOWS
    seed: int = 0
    features_: list[str] = field(default_factory=list)
    base_rate_: float = float("nan")
    estimator_: Any = None

    def fit(self, train: pd.DataFrame, key: Sequence[str]) -> PropensityModel:
        y = train["label"].to_numpy(dtype=int)
        if y.sum() == 0 or y.sum() == len(y):
            raise DataValidationError(
                f"the training pairs ({len(y):,}) have {int(y.sum())} purchases: a model needs "
                "both buyers and non-buyers; ingest more behaviour data or change --days")
        self.base_rate_ = float(y.mean())
        self.features_ = [c for c in train.columns if c not in (*key, "label", "cutoff")]
        if self.kind == "lightgbm":
            import lightgbm as lgb

            self.estimator_ = lgb.LGBMClassifier(
                n_estimators=300, learning_rate=0.03, num_leaves=15, min_child_samples=40,
                subsample=0.8, subsample_freq=1, colsample_bytree=0.7, reg_lambda=5.0,
                random_state=self.seed, n_jobs=1, verbose=-1, deterministic=True,
                force_row_wise=True)
            self.estimator_.fit(train[self.features_], y)
        else:
            from sklearn.linear_model import LogisticRegression
            from sklearn.pipeline import make_pipeline
            from sklearn.preprocessing import StandardScaler

            self.estimator_ = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
            self.estimator_.fit(_baseline_matrix(train, self.windows), y)
        return self

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        """P(buy) for each row of a feature frame from :func:`build_features`."""
        if self.estimator_ is None:
            raise ModelError("the propensity model is not fitted; call fit(train, key) first")
        if frame.empty:
            return np.zeros(0)
        if self.kind == "lightgbm":
            return self.estimator_.predict_proba(frame[self.features_])[:, 1]
        return self.estimator_.predict_proba(_baseline_matrix(frame, self.windows))[:, 1]


def score_pairs(model: PropensityModel, features: pd.DataFrame, *, level: Level = "item",
                pairs: pd.DataFrame | None = None) -> pd.DataFrame:
    """Probabilities for candidate pairs (or for the given ``pairs``).

    Pairs absent from ``features`` (a user with no activity in the lookback) get the model's
    base rate and ``basis = "base_rate"``; the others ``basis = "model"``.
    """
    key = list(KEY[level])
    scored = features[key].assign(probability=model.predict_proba(features), basis="model")
    if pairs is None:
        return scored
    missing = [c for c in key if c not in pairs.columns]
    if missing:
        raise DataValidationError(f"pairs to score lack column(s) {missing}; they need {key}")
    out = pairs[key].astype(str).merge(scored, on=key, how="left")
    cold = out["probability"].isna()
    out.loc[cold, "probability"] = model.base_rate_
    out.loc[cold, "basis"] = "base_rate"
    return out


# Metrics -------------------------------------------------------------------------------

def precision_at_k(y: np.ndarray, score: np.ndarray, k: int) -> float:
    """Share of buyers among the ``k`` highest scores (ties broken by position)."""
    k = min(int(k), len(y))
    if k <= 0:
        return float("nan")
    top = np.argsort(-score, kind="stable")[:k]
    return float(np.asarray(y)[top].mean())


def ranking_metrics(y: np.ndarray, score: np.ndarray) -> dict[str, float]:
    """ROC AUC, average precision and precision@10, @100 and @1% of pairs."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    y = np.asarray(y, dtype=int)
    both = 0 < y.sum() < len(y)
    k1 = max(1, math.ceil(0.01 * len(y)))
    return {
        "auc": float(roc_auc_score(y, score)) if both else float("nan"),
        "ap": float(average_precision_score(y, score)) if both else float("nan"),
        "p@10": precision_at_k(y, score, 10),
        "p@100": precision_at_k(y, score, 100),
        "p@1%": precision_at_k(y, score, k1),
        "k_1pct": float(k1),
    }


# The whole evaluation ------------------------------------------------------------------

@dataclass
class PropensityEvaluation:
    """Holdout result of LightGBM and the baseline at one level, and the models behind it."""

    level: str
    split: TimeSplit
    metrics: dict[str, dict[str, float]]
    counts: dict[str, float]
    models: dict[str, PropensityModel]
    test: pd.DataFrame
    notes: list[str]
    windows: tuple[int, ...] = WINDOWS

    @property
    def base_rate(self) -> float:
        """P(buy) given to pairs without recent activity (the training positive rate)."""
        return self.models["lightgbm"].base_rate_

    def as_dict(self) -> dict[str, Any]:
        notes = [*self.notes, base_rate_note(max(self.windows), self.base_rate)]
        return {"level": self.level, "split": self.split.as_dict(), "metrics": self.metrics,
                "counts": self.counts, "base_rate": self.base_rate, "notes": notes}


def base_rate_note(lookback_days: int, rate: float) -> str:
    """How pairs without recent activity are scored (reported with every result)."""
    return (f"pairs without activity in the last {lookback_days} days get the base rate {rate:.4f}: "
            "the share of training pairs (pairs with recent activity) that bought; a pair with no "
            "history at all probably buys less often than that")


def _check_level(level: str) -> None:
    if level not in LEVELS:
        raise ModelError(f"level must be one of {', '.join(LEVELS)}, got {level!r}")


def evaluate_propensity(
    events: pd.DataFrame,
    *,
    days: int = 3,
    level: Level = "item",
    windows: Sequence[int] = WINDOWS,
    max_train_cutoffs: int = 7,
    seed: int = 0,
) -> PropensityEvaluation:
    """Train LightGBM and the baseline on earlier cutoffs, test both on the last one.

    Args:
        events: a frame from :func:`prepare_events`.
        days: the label window N: bought in (cutoff, cutoff + N days].
        level: ``item`` or ``category``.
        windows: count windows in days (the largest is also the candidate lookback).
        max_train_cutoffs: most recent training cutoffs to use.
        seed: LightGBM seed.
    """
    _check_level(level)
    split = time_split(events, days, max_train_cutoffs=max_train_cutoffs)
    key = list(KEY[level])
    train = make_dataset(events, split.train_cutoffs, days, level=level, windows=windows)
    test = make_dataset(events, [split.test_cutoff], days, level=level, windows=windows)
    if test.empty or test["label"].sum() == 0:
        raise DataValidationError(
            f"the test window {split.test_cutoff} + {days} days has no purchase by a candidate "
            f"{level} pair ({len(test):,} pairs); ingest more behaviour data")
    models = {kind: PropensityModel(kind, tuple(windows), seed).fit(train, key)
              for kind in ("lightgbm", "baseline")}
    y = test["label"].to_numpy(dtype=int)
    metrics = {}
    for name, m in models.items():
        p = m.predict_proba(test)
        test[f"p_{name}"] = p
        metrics[name] = ranking_metrics(y, p)
    buys = events[(events["event_type"] == "buy") & (events["ts"] > split.test_cutoff)
                  & (events["ts"] <= split.test_cutoff + days * _DAY)]
    if level == "category":
        buys = buys[buys["category_id"] != ""]
    bought_pairs = len(buys[key].drop_duplicates())
    counts = {
        "train_pairs": float(len(train)), "train_positives": float(train["label"].sum()),
        "train_positive_rate": float(train["label"].mean()),
        "test_pairs": float(len(test)), "test_positives": float(y.sum()),
        "test_positive_rate": float(y.mean()),
        "test_bought_pairs": float(bought_pairs),
        "test_coverage": float(y.sum() / bought_pairs) if bought_pairs else float("nan"),
    }
    lookback = max(windows)
    notes = [
        f"candidates: {level} pairs with activity in the {lookback} days before a cutoff; "
        f"{counts['test_coverage']:.1%} of the {bought_pairs:,} pairs bought in the test window "
        "had such activity (the rest cannot be ranked from behaviour)",
        f"train cutoffs {', '.join(str(c.date()) for c in split.train_cutoffs)}; test cutoff "
        f"{split.test_cutoff.date()} (labels up to {(split.test_cutoff + days * _DAY).date()})",
        "baseline: logistic regression on the pair's recency and frequency of any action",
    ]
    return PropensityEvaluation(level, split, metrics, counts, models, test, notes, tuple(windows))
