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
    from trendcast.data.ingest import event_alias

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
    text = events["event_type"].astype("string").str.strip()
    kind = text.astype(object).map(event_alias)
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
               *, level: Level = "item", until: pd.Timestamp | None = None) -> pd.DataFrame:
    """``pairs`` plus ``label``: 1 when the pair has a buy in (cutoff, cutoff + days], the
    window cut at ``until`` when given (a validation split reads nothing after its cutoff)."""
    key = list(KEY[level])
    cutoff = pd.Timestamp(cutoff)
    end = cutoff + days * _DAY if until is None else min(cutoff + days * _DAY, pd.Timestamp(until))
    buys = events[(events["event_type"] == "buy") & (events["ts"] > cutoff)
                  & (events["ts"] <= end)]
    bought = buys[key].drop_duplicates().assign(label=1.0)
    out = pairs.merge(bought, on=key, how="left")
    out["label"] = out["label"].fillna(0.0)
    return out


def make_dataset(events: pd.DataFrame, cutoffs: Sequence[pd.Timestamp], days: int, *,
                 level: Level = "item", windows: Sequence[int] = WINDOWS,
                 lookback_days: int | None = None, until: pd.Timestamp | None = None) -> pd.DataFrame:
    """Features and labels of every candidate pair at each cutoff, with a ``cutoff`` column
    (label windows cut at ``until`` when given)."""
    parts = []
    for c in cutoffs:
        f = build_features(events, c, level=level, windows=windows, lookback_days=lookback_days)
        if len(f):
            parts.append(add_labels(f, events, c, days, level=level, until=until)
                         .assign(cutoff=pd.Timestamp(c)))
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


Kind = Literal["lightgbm", "baseline", "blend"]
KINDS: tuple[str, ...] = ("lightgbm", "baseline", "blend")
NAMES = {"lightgbm": "LightGBM", "baseline": "the recency-frequency baseline",
         "blend": "the rank blend of LightGBM and the baseline"}


def _quantile(reference: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Count of ``reference`` (sorted) scores at or below each of ``p``, over len + 1: a rank
    in [0, 1) that does not depend on which other pairs are scored with it."""
    return np.searchsorted(reference, np.asarray(p, dtype=float), side="right") / (len(reference) + 1)


@dataclass
class PropensityModel:
    """LightGBM on all features, the recency-frequency logistic baseline, or their rank blend.

    The blend's score is the mean of the two models' ranks, each rank being the share of the
    training pairs that model scores at or below the pair (so a pair scores the same alone or
    in a list). It is a ranking score in (0, 1], not a probability until calibrated."""

    kind: Kind = "lightgbm"
    windows: tuple[int, ...] = WINDOWS
    seed: int = 0
    features_: list[str] = field(default_factory=list)
    base_rate_: float = float("nan")
    estimator_: Any = None
    parts_: dict[str, PropensityModel] = field(default_factory=dict)
    reference_: dict[str, np.ndarray] = field(default_factory=dict)

    @classmethod
    def blend_of(cls, lightgbm: PropensityModel, baseline: PropensityModel,
                 train: pd.DataFrame) -> PropensityModel:
        """The rank blend of a fitted LightGBM and a fitted baseline (no refit), ranks taken
        against their scores on ``train`` (the pairs they were fitted on)."""
        if lightgbm.kind != "lightgbm" or baseline.kind != "baseline":
            raise ModelError("blend_of needs a fitted LightGBM and a fitted baseline model")
        m = cls("blend", lightgbm.windows, lightgbm.seed)
        m.parts_ = {"lightgbm": lightgbm, "baseline": baseline}
        m.base_rate_ = lightgbm.base_rate_
        m.features_ = list(lightgbm.features_)
        m.reference_ = {k: np.sort(part.predict_proba(train)) for k, part in m.parts_.items()}
        m.estimator_ = "blend"
        return m

    def fit(self, train: pd.DataFrame, key: Sequence[str]) -> PropensityModel:
        y = train["label"].to_numpy(dtype=int)
        if y.sum() == 0 or y.sum() == len(y):
            raise DataValidationError(
                f"the training pairs ({len(y):,}) have {int(y.sum())} purchases: a model needs "
                "both buyers and non-buyers; ingest more behaviour data or change --days")
        if self.kind == "blend":
            parts = [PropensityModel(k, self.windows, self.seed).fit(train, key)  # type: ignore[arg-type]
                     for k in ("lightgbm", "baseline")]
            fitted = PropensityModel.blend_of(*parts, train)
            self.parts_, self.reference_ = fitted.parts_, fitted.reference_
            self.base_rate_, self.features_, self.estimator_ = (fitted.base_rate_, fitted.features_,
                                                                fitted.estimator_)
            return self
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
        elif self.kind == "baseline":
            from sklearn.linear_model import LogisticRegression
            from sklearn.pipeline import make_pipeline
            from sklearn.preprocessing import StandardScaler

            self.estimator_ = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
            self.estimator_.fit(_baseline_matrix(train, self.windows), y)
        else:
            raise ModelError(f"propensity model kind must be one of {', '.join(KINDS)}, got {self.kind!r}")
        return self

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        """P(buy) for each row of a feature frame from :func:`build_features` (the blend: its
        ranking score, see the class docstring)."""
        if self.estimator_ is None:
            raise ModelError("the propensity model is not fitted; call fit(train, key) first")
        if frame.empty:
            return np.zeros(0)
        if self.kind == "blend":
            raw = {k: part.predict_proba(frame) for k, part in self.parts_.items()}
            rank = np.mean([_quantile(self.reference_[k], raw[k]) for k in raw], axis=0)
            # equal mean ranks are ordered by the mean raw probability; the step added is
            # below the smallest gap between distinct mean ranks, 1 / (2 (n + 1))
            n = max(len(r) for r in self.reference_.values())
            return rank + np.mean(list(raw.values()), axis=0) / (4 * (n + 1))
        if self.kind == "lightgbm":
            return self.estimator_.predict_proba(frame[self.features_])[:, 1]
        return self.estimator_.predict_proba(_baseline_matrix(frame, self.windows))[:, 1]


def fit_models(train: pd.DataFrame, key: Sequence[str], *, windows: Sequence[int] = WINDOWS,
               seed: int = 0) -> dict[str, PropensityModel]:
    """LightGBM, the baseline and their rank blend, fitted on ``train``."""
    models = {kind: PropensityModel(kind, tuple(windows), seed).fit(train, key)  # type: ignore[arg-type]
              for kind in ("lightgbm", "baseline")}
    models["blend"] = PropensityModel.blend_of(models["lightgbm"], models["baseline"], train)
    return models


# Calibration ---------------------------------------------------------------------------

def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=float), 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


@dataclass
class PlattCalibrator:
    """Platt scaling of a model's scores, fitted on a later, held-out cutoff.

    The input is the score's log-odds minus the log-odds of the model's training positive
    rate, so a calibrator fitted on one fit of a model transfers to a refit on more cutoffs
    (whose scores sit higher or lower with its training rate)."""

    coef_: float = 1.0
    intercept_: float = 0.0
    fitted_: bool = False

    def _x(self, p: np.ndarray, train_rate: float) -> np.ndarray:
        return (_logit(p) - float(_logit(np.array([train_rate]))[0]))[:, None]

    def fit(self, p: np.ndarray, y: np.ndarray, train_rate: float) -> PlattCalibrator:
        from sklearn.linear_model import LogisticRegression

        y = np.asarray(y, dtype=int)
        if 0 < y.sum() < len(y):
            lr = LogisticRegression(C=1e4, max_iter=1000).fit(self._x(p, train_rate), y)
            self.coef_, self.intercept_ = float(lr.coef_[0, 0]), float(lr.intercept_[0])
            self.fitted_ = True
        return self

    def transform(self, p: np.ndarray, train_rate: float) -> np.ndarray:
        if not self.fitted_:
            return np.asarray(p, dtype=float)
        z = self.coef_ * self._x(p, train_rate)[:, 0] + self.intercept_
        return 1 / (1 + np.exp(-z))


def reliability(y: np.ndarray, p: np.ndarray, edges: Sequence[float] = (
        0, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0)) -> list[dict[str, float]]:
    """Reliability curve: per bin of predicted probability, pairs, mean predicted and the
    observed purchase rate."""
    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    which = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, len(edges) - 2)
    rows = []
    for b in range(len(edges) - 1):
        m = which == b
        if m.any():
            rows.append({"low": float(edges[b]), "high": float(edges[b + 1]), "pairs": float(m.sum()),
                         "predicted": float(p[m].mean()), "observed": float(y[m].mean())})
    return rows


def calibration_scores(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """Brier score, log loss and mean predicted against observed rate."""
    from sklearn.metrics import brier_score_loss, log_loss

    y = np.asarray(y, dtype=int)
    p = np.clip(np.asarray(p, dtype=float), 1e-6, 1 - 1e-6)
    return {"brier": float(brier_score_loss(y, p)), "log_loss": float(log_loss(y, p, labels=[0, 1])),
            "mean_predicted": float(p.mean()), "observed_rate": float(y.mean())}


# Users without recent activity ---------------------------------------------------------

BANDS: tuple[tuple[str, int, float], ...] = (("0 purchases", 0, 0), ("1 purchase", 1, 1),
                                            ("2-4 purchases", 2, 4), ("5+ purchases", 5, np.inf))


def purchase_band(n_buys: np.ndarray | pd.Series) -> np.ndarray:
    """The segment of a user by purchases before the cutoff: 0, 1, 2-4, 5+."""
    n = np.asarray(n_buys, dtype=float)
    out = np.full(len(n), BANDS[0][0], dtype=object)
    for name, lo, hi in BANDS:
        out[(n >= lo) & (n <= hi)] = name
    return out


def user_bands(events: pd.DataFrame, cutoff: pd.Timestamp) -> pd.Series:
    """Each user seen before ``cutoff`` and their purchase band over all history before it."""
    before = events[events["ts"] <= pd.Timestamp(cutoff)]
    buys = before.loc[before["event_type"] == "buy"].groupby("user_id").size()
    users = pd.Index(before["user_id"].unique())
    return pd.Series(purchase_band(buys.reindex(users, fill_value=0).to_numpy()), index=users)


def segment_rates(events: pd.DataFrame, cutoffs: Sequence[pd.Timestamp], days: int, *,
                  level: Level = "item", lookback_days: int = max(WINDOWS)) -> pd.DataFrame:
    """P(buy) of a pair without activity in the lookback, per purchase band of its user.

    At each cutoff, a user of band b has ``targets`` possible items (categories: those with
    any event in the lookback) they had no recent action with; the rate is the purchases of
    such pairs in the label window over users x targets, summed over the cutoffs.
    Returns ``segment, users, pairs, bought, rate`` (one row per band)."""
    key = list(KEY[level])
    target = key[1]
    acc = {name: [0.0, 0.0, 0.0] for name, _, _ in BANDS}
    for c in cutoffs:
        c = pd.Timestamp(c)
        bands = user_bands(events, c)
        recent = events[(events["ts"] <= c) & (events["ts"] > c - lookback_days * _DAY)]
        if level == "category":
            recent = recent[recent["category_id"] != ""]
        n_targets = recent[target].nunique()
        active = recent[key].drop_duplicates()
        buys = events[(events["event_type"] == "buy") & (events["ts"] > c)
                      & (events["ts"] <= c + days * _DAY)]
        if level == "category":
            buys = buys[buys["category_id"] != ""]
        bought = buys[key].drop_duplicates().merge(active.assign(_a=1), on=key, how="left")
        # users first seen after the cutoff have no denominator here: left out
        bought = bought[bought["_a"].isna() & bought["user_id"].isin(bands.index)]
        bought_band = bought["user_id"].map(bands)
        per_user_active = active.groupby("user_id").size()
        for name, _, _ in BANDS:
            users = bands.index[bands.to_numpy() == name]
            acc[name][0] += len(users)
            acc[name][1] += len(users) * n_targets - per_user_active.reindex(users, fill_value=0).sum()
            acc[name][2] += float((bought_band == name).sum())
    rows = [{"segment": name, "users": u, "pairs": n, "bought": b,
             "rate": b / n if n > 0 else float("nan")} for name, (u, n, b) in acc.items()]
    out = pd.DataFrame(rows)
    overall = out["bought"].sum() / out["pairs"].sum() if out["pairs"].sum() > 0 else 0.0
    out["rate"] = out["rate"].fillna(overall)  # a band never seen: the rate of all bands
    return out


def score_pairs(model: PropensityModel, features: pd.DataFrame, *, level: Level = "item",
                pairs: pd.DataFrame | None = None, calibrator: PlattCalibrator | None = None,
                segments: pd.DataFrame | None = None, bands: pd.Series | None = None) -> pd.DataFrame:
    """Probabilities for candidate pairs (or for the given ``pairs``), with ``cold``.

    Pairs absent from ``features`` (no activity with the item or category in the lookback)
    are ``cold``: they get their user's segment rate from ``segments`` (by the purchase band
    in ``bands``; a user not in ``bands`` is in the 0-purchase band) and
    ``basis = "segment: <band>"``; without ``segments``, the model's base rate and
    ``basis = "base_rate"``. The others get the (calibrated) model and ``basis = "model"``.
    """
    key = list(KEY[level])
    p = model.predict_proba(features)
    if calibrator is not None:
        p = calibrator.transform(p, model.base_rate_)
    scored = features[key].assign(probability=p, basis="model", cold=False)
    if pairs is None:
        return scored
    missing = [c for c in key if c not in pairs.columns]
    if missing:
        raise DataValidationError(f"pairs to score lack column(s) {missing}; they need {key}")
    out = pairs[key].astype(str).merge(scored, on=key, how="left")
    cold = out["probability"].isna().to_numpy()
    out["cold"] = cold
    if segments is None:
        out.loc[cold, "probability"] = model.base_rate_
        out.loc[cold, "basis"] = "base_rate"
        return out
    band = out["user_id"].map(bands if bands is not None else pd.Series(dtype=object))
    band = band.fillna(BANDS[0][0])
    rate = band.map(segments.set_index("segment")["rate"])
    out.loc[cold, "probability"] = rate[cold].to_numpy()
    out.loc[cold, "basis"] = ("segment: " + band[cold]).to_numpy()
    return out


# Metrics -------------------------------------------------------------------------------

def precision_at_k(y: np.ndarray, score: np.ndarray, k: int) -> float:
    """Share of buyers among the ``k`` highest scores (ties broken by position)."""
    k = min(int(k), len(y))
    if k <= 0:
        return float("nan")
    top = np.argsort(-score, kind="stable")[:k]
    return float(np.asarray(y)[top].mean())


def ranking_metrics(y: np.ndarray, score: np.ndarray, k: int | None = None) -> dict[str, float]:
    """ROC AUC, average precision and precision@10, @100, @1% of pairs and @k (if given)."""
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
        **({f"p@{int(k)}": precision_at_k(y, score, int(k))} if k is not None else {}),
    }


# The whole evaluation ------------------------------------------------------------------

def lead_lows(y: np.ndarray, a: np.ndarray, b: np.ndarray, k: int, *, n: int = 200, seed: int = 0,
              level: float = 0.9) -> dict[str, float]:
    """Lower bounds of one-sided ``level`` paired-bootstrap intervals of AP(a) - AP(b) and of
    precision@k(a) - precision@k(b), from the same resamples of the pairs."""
    from sklearn.metrics import average_precision_score

    y, a, b = np.asarray(y, dtype=int), np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    rng = np.random.default_rng(seed)
    d_ap, d_pk = [], []
    for _ in range(n):
        i = rng.integers(0, len(y), len(y))
        if 0 < y[i].sum() < len(i):
            d_ap.append(average_precision_score(y[i], a[i]) - average_precision_score(y[i], b[i]))
            d_pk.append(precision_at_k(y[i], a[i], k) - precision_at_k(y[i], b[i], k))
    if not d_ap:
        return {"ap": float("nan"), "pk": float("nan")}
    return {"ap": float(np.quantile(d_ap, 1 - level)), "pk": float(np.quantile(d_pk, 1 - level))}


def choose_model(y: np.ndarray, scores: dict[str, np.ndarray], k: int, *, seed: int = 0,
                 where: str = "the validation cutoff") -> tuple[str, str, dict[str, dict[str, float]]]:
    """The shipping rule, on one validation set's labels ``y`` and each candidate's ``scores``
    (``baseline`` plus any of ``lightgbm``, ``blend``).

    A candidate other than the baseline qualifies when, against the baseline, it is at least
    as good on AP and on precision@k and the lower bound of a one-sided 90% paired-bootstrap
    interval of its lead is above 0 on both metrics: a lead a campaign would see, not one the
    validation's few buyers could produce by chance. Of the qualified candidates the one with
    the higher AP (then precision@k) ships; when none qualifies the baseline, the simpler
    model, ships. Returns the chosen kind, the reason and each candidate's figures (with
    ``ap_lead_low90`` and ``pk_lead_low90`` for the challengers)."""
    if "baseline" not in scores:
        raise ModelError("choose_model needs the baseline's scores: it ships when no model beats it")
    y = np.asarray(y, dtype=int)
    pk = f"p@{int(k)}"
    metrics = {kind: ranking_metrics(y, s, k) for kind, s in scores.items()}
    base = metrics["baseline"]
    qualified, parts = [], []
    for kind in (c for c in KINDS if c in scores and c != "baseline"):
        m = metrics[kind]
        low = lead_lows(y, scores[kind], scores["baseline"], int(k), seed=seed)
        m["ap_lead_low90"], m["pk_lead_low90"] = low["ap"], low["pk"]
        ok = m["ap"] >= base["ap"] and m[pk] >= base[pk] and low["ap"] > 0 and low["pk"] > 0
        if ok:
            qualified.append(kind)
        parts.append(f"{NAMES[kind]}: AP {m['ap']:.3f}, precision@{k} {m[pk]:.3f} (90% bootstrap "
                     f"lower bounds of the lead {low['ap']:+.3f}, {low['pk']:+.3f})"
                     f"{'' if ok else ', no clear lead'}")
    figures = (f"baseline AP {base['ap']:.3f}, precision@{k} {base[pk]:.3f}; " + "; ".join(parts)
               + f" ({where}, {int(y.sum())} buyers among {len(y):,} pairs)")
    if qualified:
        chosen = max(qualified, key=lambda c: (metrics[c]["ap"], metrics[c][pk]))
        reason = f"{NAMES[chosen]} ships: it ranks buyers better at the top of the list: {figures}"
    else:
        chosen = "baseline"
        reason = (f"the recency-frequency baseline ships: no model leads it on both AP and "
                  f"precision@{k} beyond the bootstrap noise: {figures}")
    return chosen, reason, metrics


@dataclass
class Selection:
    """Which model ships and why: every kind measured on the latest validation cutoff before
    the test cutoff (trained on earlier cutoffs, label windows cut at the validation cutoff)."""

    chosen: str
    reason: str
    k: int
    validation_cutoff: pd.Timestamp | None
    validation: dict[str, dict[str, float]]
    calibrator: PlattCalibrator

    def as_dict(self) -> dict[str, Any]:
        return {"chosen": self.chosen, "reason": self.reason, "k": self.k,
                "validation_cutoff": None if self.validation_cutoff is None else str(self.validation_cutoff),
                "validation": self.validation,
                "calibration": {"method": "Platt (logistic on log-odds) on the validation cutoff",
                                "coef": self.calibrator.coef_, "intercept": self.calibrator.intercept_,
                                "fitted": self.calibrator.fitted_}}


def select_model(events: pd.DataFrame, split: TimeSplit, *, level: Level = "item", k: int = 100,
                 windows: Sequence[int] = WINDOWS, seed: int = 0) -> Selection:
    """Choose among LightGBM, the recency-frequency baseline and their rank blend by AP and
    precision@k on the latest time split before ``split.test_cutoff`` (the rule:
    :func:`choose_model`), and fit a Platt calibrator for the chosen one there. Nothing after
    the validation cutoff ``split.test_cutoff - days`` is read."""
    days = split.days
    val_cutoff = split.test_cutoff - days * _DAY
    fit_cutoffs = [c for c in split.train_cutoffs if c < val_cutoff]
    key = list(KEY[level])
    empty = Selection("baseline", "", k, None, {}, PlattCalibrator())
    if not fit_cutoffs:
        empty.reason = (f"no cutoff before the validation cutoff {val_cutoff.date()} to train on: "
                        "the baseline ships (no other model has shown it ranks buyers better)")
        return empty
    visible = events[events["ts"] <= val_cutoff]
    train = make_dataset(visible, fit_cutoffs, days, level=level, windows=windows, until=val_cutoff)
    val = make_dataset(events[events["ts"] <= split.test_cutoff], [val_cutoff], days, level=level,
                       windows=windows)
    if train.empty or val.empty or not 0 < train["label"].sum() < len(train) or val["label"].sum() == 0:
        empty.validation_cutoff = val_cutoff
        empty.reason = (f"the validation cutoff {val_cutoff.date()} has too few purchases to compare "
                        "the models: the baseline ships")
        return empty
    y = val["label"].to_numpy(dtype=int)
    models = fit_models(train, key, windows=windows, seed=seed)
    scores = {kind: m.predict_proba(val) for kind, m in models.items()}
    chosen, reason, metrics = choose_model(y, scores, k, seed=seed,
                                           where=f"validation cutoff {val_cutoff.date()}")
    calibrator = PlattCalibrator().fit(scores[chosen], y, models[chosen].base_rate_)
    return Selection(chosen, reason, int(k), val_cutoff, metrics, calibrator)


@dataclass
class PropensityEvaluation:
    """Holdout result of LightGBM, the baseline, their rank blend and the shipped (selected
    and calibrated) model at one level, and the models behind it."""

    level: str
    split: TimeSplit
    metrics: dict[str, dict[str, float]]
    counts: dict[str, float]
    models: dict[str, PropensityModel]
    test: pd.DataFrame
    notes: list[str]
    selection: Selection
    segments: pd.DataFrame
    calibration: dict[str, Any]
    windows: tuple[int, ...] = WINDOWS

    @property
    def shipped(self) -> str:
        return self.selection.chosen

    def as_dict(self) -> dict[str, Any]:
        return {"level": self.level, "split": self.split.as_dict(), "metrics": self.metrics,
                "counts": self.counts, "selection": self.selection.as_dict(),
                "calibration": self.calibration,
                "segments": self.segments.to_dict(orient="records"), "notes": self.notes}


def cold_note(lookback_days: int) -> str:
    """How pairs without recent activity are scored (reported with every result)."""
    return (f"pairs without activity in the last {lookback_days} days are flagged cold=True and get "
            "their user's segment rate (purchase band before the cutoff: 0, 1, 2-4, 5+): the share "
            "of such pairs that bought at the training cutoffs")


def _check_level(level: str) -> None:
    if level not in LEVELS:
        raise ModelError(f"level must be one of {', '.join(LEVELS)}, got {level!r}")


def evaluate_propensity(
    events: pd.DataFrame,
    *,
    days: int = 3,
    level: Level = "item",
    k: int = 100,
    windows: Sequence[int] = WINDOWS,
    max_train_cutoffs: int = 7,
    seed: int = 0,
) -> PropensityEvaluation:
    """Choose the model on a validation cutoff, train LightGBM, the baseline and their rank
    blend on the training cutoffs, test them and the shipped (calibrated) one on the last cutoff.

    Args:
        events: a frame from :func:`prepare_events`.
        days: the label window N: bought in (cutoff, cutoff + N days].
        level: ``item`` or ``category``.
        k: the list length a campaign contacts: precision@k selects the model.
        windows: count windows in days (the largest is also the candidate lookback).
        max_train_cutoffs: most recent training cutoffs to use.
        seed: LightGBM seed.
    """
    _check_level(level)
    if k < 1:
        raise ModelError(f"k must be >= 1, got {k}")
    split = time_split(events, days, max_train_cutoffs=max_train_cutoffs)
    key = list(KEY[level])
    train = make_dataset(events, split.train_cutoffs, days, level=level, windows=windows)
    test = make_dataset(events, [split.test_cutoff], days, level=level, windows=windows)
    if test.empty or test["label"].sum() == 0:
        raise DataValidationError(
            f"the test window {split.test_cutoff} + {days} days has no purchase by a candidate "
            f"{level} pair ({len(test):,} pairs); ingest more behaviour data")
    selection = select_model(events, split, level=level, k=k, windows=windows, seed=seed)
    models = fit_models(train, key, windows=windows, seed=seed)
    y = test["label"].to_numpy(dtype=int)
    metrics = {}
    for name, m in models.items():
        p = m.predict_proba(test)
        test[f"p_{name}"] = p
        metrics[name] = ranking_metrics(y, p, k)
    chosen = models[selection.chosen]
    test["p_shipped"] = selection.calibrator.transform(test[f"p_{selection.chosen}"].to_numpy(),
                                                       chosen.base_rate_)
    metrics["shipped"] = ranking_metrics(y, test["p_shipped"].to_numpy(), k)
    calibration = {
        "raw": {**calibration_scores(y, test[f"p_{selection.chosen}"]),
                "curve": reliability(y, test[f"p_{selection.chosen}"].to_numpy())},
        "shipped": {**calibration_scores(y, test["p_shipped"]),
                    "curve": reliability(y, test["p_shipped"].to_numpy())},
    }
    segments = segment_rates(events, split.train_cutoffs, days, level=level, lookback_days=max(windows))
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
        selection.reason,
        f"candidates: {level} pairs with activity in the {lookback} days before a cutoff; "
        f"{counts['test_coverage']:.1%} of the {bought_pairs:,} pairs bought in the test window "
        "had such activity (the rest cannot be ranked from behaviour)",
        f"train cutoffs {', '.join(str(c.date()) for c in split.train_cutoffs)}; test cutoff "
        f"{split.test_cutoff.date()} (labels up to {(split.test_cutoff + days * _DAY).date()})",
        "baseline: logistic regression on the pair's recency and frequency of any action; blend: "
        "the mean of LightGBM's and the baseline's ranks among the training pairs",
        "probabilities: the chosen model's scores, Platt-calibrated on the validation cutoff",
        cold_note(lookback),
    ]
    return PropensityEvaluation(level, split, metrics, counts, models, test, notes, selection,
                                segments, calibration, tuple(windows))
