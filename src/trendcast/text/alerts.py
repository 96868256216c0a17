"""Negative-sentiment alerts: a product's share of negative reviews jumps above its own past.

On every day, the negatives of the last ``recent`` days (k of n reviews) are tested against
the product's rate over the ``baseline`` days before them, shrunk toward the whole shop's
rate over the same days (``prior_weight`` pseudo-reviews) so a product with few past reviews
is judged against the shop. A day alerts when the one-sided binomial p-value
P(X >= k | n, p0) is at most ``alpha``, there are at least ``min_negative`` negatives and the
recent share beats p0 by ``min_increase``. Alert days of one product less than ``merge_gap``
days apart form one alert; its keywords contrast the negative reviews of its strongest day's
window with the product's reviews of the baseline window.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from trendcast.errors import DataValidationError


@dataclass(frozen=True)
class AlertRule:
    """Thresholds of the alert test. The defaults had the best F1 against the incidents of
    simulated shop seed 7 with sentiment from the packaged model and from star ratings alike
    (benchmarks/text_signals.py reports other seeds)."""

    recent: int = 14
    baseline: int = 56
    alpha: float = 1e-4
    min_negative: int = 5
    min_increase: float = 0.2
    prior_weight: float = 10.0
    merge_gap: int = 14

    def __post_init__(self) -> None:
        if self.recent < 1 or self.baseline < 1 or self.merge_gap < 0:
            raise DataValidationError(f"recent and baseline must be >= 1 day and merge_gap >= 0; got {self}")
        if not 0 < self.alpha < 1 or self.min_negative < 1 or self.prior_weight < 0:
            raise DataValidationError(f"need 0 < alpha < 1, min_negative >= 1, prior_weight >= 0; got {self}")


def alert_days(signals: pd.DataFrame, rule: AlertRule | None = None) -> pd.DataFrame:
    """The test on every product-day of a :func:`trendcast.text.signals.daily_signals` frame.

    Returns:
        ``unique_id, ds, n_recent, k_recent, share_recent, p0, p_value, alert`` per row.
    """
    from scipy.stats import binom

    rule = rule or AlertRule()
    need = {"unique_id", "ds", "scored", "negative"}
    if need - set(signals.columns):
        raise DataValidationError(f"signals lack column(s) {sorted(need - set(signals.columns))}; "
                                  "build them with daily_signals")
    if signals.empty:
        return pd.DataFrame(columns=["unique_id", "ds", "n_recent", "k_recent", "share_recent", "p0",
                                     "p_value", "alert"])
    sig = signals.sort_values(["unique_id", "ds"])
    dates = pd.date_range(sig["ds"].min(), sig["ds"].max(), freq="D")
    n = sig.pivot(index="ds", columns="unique_id", values="scored").reindex(dates).fillna(0.0)
    k = sig.pivot(index="ds", columns="unique_id", values="negative").reindex(dates).fillna(0.0)
    r, b = rule.recent, rule.baseline
    n_rec, k_rec = _trailing(n.to_numpy(), r), _trailing(k.to_numpy(), r)
    n_base = _shift(_trailing(n.to_numpy(), b), r)
    k_base = _shift(_trailing(k.to_numpy(), b), r)
    shop_n, shop_k = n_base.sum(axis=1, keepdims=True), k_base.sum(axis=1, keepdims=True)
    shop_rate = np.where(shop_n > 0, (shop_k + 1) / (shop_n + 2), 0.5)
    p0 = (k_base + rule.prior_weight * shop_rate) / (n_base + rule.prior_weight)
    p0 = np.clip(p0, 1e-4, 1 - 1e-4)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(n_rec > 0, k_rec / n_rec, np.nan)
    p_value = np.where(n_rec > 0, binom.sf(k_rec - 1, n_rec, p0), 1.0)
    alert = ((k_rec >= rule.min_negative) & (p_value <= rule.alpha)
             & (np.nan_to_num(share) - p0 >= rule.min_increase))
    out = pd.DataFrame({
        "unique_id": np.repeat(n.columns.to_numpy(), len(dates)),
        "ds": np.tile(dates.to_numpy(), n.shape[1]),
        "n_recent": n_rec.T.ravel(), "k_recent": k_rec.T.ravel(), "share_recent": share.T.ravel(),
        "p0": p0.T.ravel(), "p_value": p_value.T.ravel(), "alert": alert.T.ravel()})
    # keep the product-days the signals frame has (before a first review there is nothing to test)
    keep = sig[["unique_id", "ds"]]
    return keep.merge(out, on=["unique_id", "ds"], how="left").reset_index(drop=True)


def _trailing(values: np.ndarray, w: int) -> np.ndarray:
    c = np.cumsum(values, axis=0)
    out = c.copy()
    out[w:] = c[w:] - c[:-w]
    return out


def _shift(values: np.ndarray, by: int) -> np.ndarray:
    out = np.zeros_like(values)
    out[by:] = values[:-by]
    return out


def sentiment_alerts(signals: pd.DataFrame, reviews: pd.DataFrame | None = None, *,
                     rule: AlertRule | None = None, top_keywords: int = 5,
                     threshold: float = 0.5) -> pd.DataFrame:
    """Alerts (runs of alert days) with the keywords that explain them.

    Args:
        signals: :func:`trendcast.text.signals.daily_signals` output.
        reviews: the scored reviews (``unique_id, ts, text, language, sentiment``) for keywords;
            without them the keyword columns are empty.
        rule: alert thresholds.
        top_keywords: keywords per language.
        threshold: a review is negative when ``sentiment < threshold`` (as in the signals).

    Returns:
        ``unique_id, start, end, peak, days, n_recent, k_recent, share_recent, p0, p_value,
        keywords_zh, keywords_en`` (the figures are those of the peak day, the lowest p-value),
        sorted by start; ``attrs["assumptions"]`` holds the rule.
    """
    rule = rule or AlertRule()
    days = alert_days(signals, rule)
    hits = days[days["alert"].astype(bool)].sort_values(["unique_id", "ds"])
    cols = ["unique_id", "start", "end", "peak", "days", "n_recent", "k_recent", "share_recent", "p0",
            "p_value", "keywords_zh", "keywords_en"]
    if hits.empty:
        out = pd.DataFrame(columns=cols)
        out.attrs["assumptions"] = asdict(rule)
        return out
    gap = hits.groupby("unique_id")["ds"].diff().dt.days
    hits = hits.assign(episode=(gap.isna() | (gap > rule.merge_gap)).cumsum())
    rows = []
    for _, ep in hits.groupby("episode", sort=False):
        peak = ep.loc[ep["p_value"].idxmin()]
        row = {"unique_id": peak["unique_id"], "start": ep["ds"].min(), "end": ep["ds"].max(),
               "peak": peak["ds"], "days": len(ep), "n_recent": int(peak["n_recent"]),
               "k_recent": int(peak["k_recent"]), "share_recent": float(peak["share_recent"]),
               "p0": float(peak["p0"]), "p_value": float(peak["p_value"])}
        row.update(_explain(reviews, peak["unique_id"], peak["ds"], rule, top_keywords, threshold))
        rows.append(row)
    out = pd.DataFrame(rows, columns=cols).sort_values(["start", "unique_id"], ignore_index=True)
    out.attrs["assumptions"] = asdict(rule) | {"threshold": threshold}
    return out


def _explain(reviews: pd.DataFrame | None, uid: str, day: pd.Timestamp, rule: AlertRule, top: int,
             threshold: float) -> dict[str, list[str]]:
    from trendcast.text.keywords import keywords

    empty: dict[str, list[str]] = {"keywords_zh": [], "keywords_en": []}
    if reviews is None or reviews.empty or "text" not in reviews.columns:
        return empty
    own = reviews[reviews["unique_id"] == uid]
    d = pd.to_datetime(own["ts"]).dt.normalize()
    recent = (d > day - pd.Timedelta(days=rule.recent)) & (d <= day) & (own["sentiment"] < threshold)
    before = (d > day - pd.Timedelta(days=rule.recent + rule.baseline)) & (
        d <= day - pd.Timedelta(days=rule.recent))
    lang = own["language"] if "language" in own.columns else pd.Series("en", index=own.index)
    for code in ("zh", "en"):
        texts = own.loc[recent & (lang == code), "text"].dropna().tolist()
        bg = own.loc[before & (lang == code), "text"].dropna().tolist()
        empty[f"keywords_{code}"] = [w for w, _ in keywords(texts, code, top=top, background=bg or None)]
    return empty


def match_incidents(alerts: pd.DataFrame, incidents: pd.DataFrame, *, grace_days: int = 14
                    ) -> dict[str, float]:
    """Precision and recall of alerts against known incidents (``unique_id, start, end``).

    An alert is a hit when it starts within an incident of its product, from the incident's
    start to ``grace_days`` after its end (reviews lag purchases, and ratings recover over
    weeks); an incident is found when at least one alert hits it.

    Returns:
        ``alerts, incidents, hits, found, precision, recall, median_delay_days`` (first hit
        minus incident start).
    """
    a = alerts[["unique_id", "start"]].reset_index(drop=True)
    inc = incidents[["unique_id", "start", "end"]].reset_index(drop=True).rename(
        columns={"start": "i_start", "end": "i_end"})
    inc["i_id"] = np.arange(len(inc))
    pairs = a.reset_index(names="a_id").merge(inc, on="unique_id")
    ok = (pairs["start"] >= pairs["i_start"]) & (
        pairs["start"] <= pairs["i_end"] + pd.Timedelta(days=grace_days))
    pairs = pairs[ok]
    hits, found = pairs["a_id"].nunique(), pairs["i_id"].nunique()
    delay = (pairs.groupby("i_id")["start"].min() - pairs.groupby("i_id")["i_start"].first()).dt.days
    return {"alerts": float(len(a)), "incidents": float(len(inc)), "hits": float(hits), "found": float(found),
            "precision": hits / len(a) if len(a) else float("nan"),
            "recall": found / len(inc) if len(inc) else float("nan"),
            "median_delay_days": float(delay.median()) if len(delay) else float("nan")}
