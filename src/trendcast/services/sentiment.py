"""Review sentiment use cases: score the stored reviews, summarise them per product, raise
negative-sentiment alerts.

Text scores are stored per review (``review_scores``: review id, text hash, model version) and
reused: a second run over the same reviews embeds nothing, a new or edited review is scored
once, and a new sentiment head (another version) scores everything again. Identical texts are
embedded once, so templated or repeated reviews cost little.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from trendcast.data.store import Store
from trendcast.errors import DataValidationError, NotFoundError, StoreError

Progress = Callable[[str, int, int], None]
Source = Literal["auto", "model", "rating"]
RATED_SHARE = 0.8  # ``auto`` uses the stars when at least this share of reviews has one

CHUNK_TEXTS = 2_000  # distinct texts embedded between saves: a stopped run keeps what it scored
_SCORES: dict[tuple[str, str], float] = {}  # (model version, text hash) -> P(positive)
_CACHE_MAX = 500_000


def _read_reviews(store: Store, ids: Sequence[str] | None) -> pd.DataFrame:
    reviews = store.reviews(list(ids) if ids else None)
    if reviews.empty:
        what = f" for product(s) {list(ids)[:5]}" if ids else ""
        raise NotFoundError(f"the workspace has no reviews{what}; ingest some first (trendcast ingest "
                            "FILE --kind reviews, --format amazon-reviews, or trendcast demo)")
    return reviews


def resolve_source(reviews: pd.DataFrame, source: Source) -> Literal["model", "rating"]:
    """``auto`` -> ``rating`` when at least 80% of the reviews have stars, else ``model``.

    Stars are the stronger alert signal where they exist (on the simulated shop: precision 0.88,
    recall 0.48 against 0.67 / 0.22 from the text model, docs/benchmarks.md) and cost nothing;
    the text model is for reviews without them.
    """
    if source not in ("auto", "model", "rating"):
        raise DataValidationError(f"source must be 'auto', 'model' or 'rating', got {source!r}")
    if source != "auto":
        return source
    rated = float(reviews["rating"].notna().mean()) if len(reviews) else 0.0
    return "rating" if rated >= RATED_SHARE else "model"


def score_reviews(store: Store, *, ids: Sequence[str] | None = None, source: Source = "model",
                  n_threads: int = 2, progress: Progress | None = None, model: Any = None) -> pd.DataFrame:
    """The stored reviews with ``sentiment`` (P(positive), 0..1) and ``negative`` (< 0.5).

    Args:
        store: the workspace.
        ids: only these products (default all).
        source: ``model`` (the packaged sentiment head on the review text), ``rating``
            (stars: (rating - 1) / 4) or ``auto`` (:func:`resolve_source`).
        n_threads: encoder threads.
        progress: ``(label, done, total)`` callback while embedding.
        model: a fitted :class:`trendcast.text.sentiment.SentimentModel` (default the packaged one).

    Returns:
        The ``reviews`` columns plus ``sentiment`` and ``negative``; reviews without text (or
        rating, for ``rating``) get NaN sentiment. ``attrs["notes"]`` says what was done.
    """
    from trendcast.text.signals import rating_sentiment

    reviews = _read_reviews(store, ids)
    asked, source = source, resolve_source(reviews, source)
    notes: list[str] = []
    if asked == "auto":
        rated = float(reviews["rating"].notna().mean())
        notes.append(f"source auto: {rated:.0%} of the reviews have stars, so sentiment comes from the "
                     f"{'star ratings' if source == 'rating' else 'review text'} (--source model|rating "
                     "to choose)")
    if source == "rating":
        reviews["sentiment"] = rating_sentiment(reviews["rating"])
        notes.append("sentiment from star ratings: (rating - 1) / 4, 1-2 stars negative")
    else:
        reviews["sentiment"] = _model_sentiment(store, reviews, ids, model, n_threads, progress, notes)
    missing = int(reviews["sentiment"].isna().sum())
    if missing:
        notes.append(f"{missing:,} review(s) without {'text' if source == 'model' else 'rating'}: "
                     "counted in volume, not in sentiment")
    reviews["negative"] = reviews["sentiment"] < 0.5
    reviews.attrs["notes"] = notes
    reviews.attrs["assumptions"] = {"source": source, "negative_below": 0.5}
    return reviews


def text_hash(text: str) -> str:
    """SHA-1 of a review text (UTF-8): what a stored score is keyed by besides the review id."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def _model_sentiment(store: Store, reviews: pd.DataFrame, ids: Sequence[str] | None, model: Any,
                     n_threads: int, progress: Progress | None, notes: list[str]) -> pd.Series:
    """P(positive) of each review's text: stored scores of the model's version first, then
    the process's, then the model on the texts left (whose scores are stored)."""
    from trendcast.text.sentiment import SentimentModel

    model = model or SentimentModel.pretrained(n_threads=n_threads)
    version = getattr(model, "version", None)
    has_text = reviews["text"].notna() & (reviews["text"].astype(str).str.strip() != "")
    texts = reviews.loc[has_text, "text"].astype(str)
    hashes = texts.map(text_hash)
    stored = store.review_scores(version, list(ids) if ids else None) if version else pd.DataFrame(
        columns=["review_id", "text_hash", "sentiment"])
    known: dict[str, float] = dict(zip(stored["text_hash"], stored["sentiment"].astype(float), strict=True))
    from_store = int(hashes.isin(known).sum())
    if version:
        for h in set(hashes) - set(known):
            if (version, h) in _SCORES:
                known[h] = _SCORES[(version, h)]
    first = ~hashes.duplicated()
    todo = texts[first & ~hashes.isin(known)]
    saved = 0
    for start in range(0, len(todo), CHUNK_TEXTS):
        part = todo.iloc[start:start + CHUNK_TEXTS]
        step = None if progress is None else (
            lambda label, done, total, start=start: progress(label, start + done, len(todo)))
        fresh = model.predict_proba(part.tolist(), progress=step)[:, 1]
        part_hashes = hashes[part.index]
        known.update(zip(part_hashes, fresh.tolist(), strict=True))
        if version:
            if len(_SCORES) + len(part) > _CACHE_MAX:
                _SCORES.clear()
            _SCORES.update({(version, h): v for h, v in zip(part_hashes, fresh.tolist(), strict=True)})
            if start + CHUNK_TEXTS < len(todo):  # not the last part: keep this part's work now
                rows = hashes.isin(set(part_hashes)).reindex(reviews.index, fill_value=False)
                saved += _save_part(store, reviews, rows, hashes,
                                    hashes.map(known).reindex(reviews.index), version)
    sentiment = hashes.map(known).reindex(reviews.index).astype(float)
    enc = model.encoder.config()
    note = (f"sentiment from the review text: {enc['name']} ({enc['prefix']}: prefix, first "
            f"{enc['max_chars']} characters) + a logistic head trained on {model.n_train_:,} reviews "
            f"(version {version or 'unversioned'}); {len(todo):,} distinct texts embedded now, "
            f"{from_store:,} of {len(texts):,} reviews scored from stored scores")
    notes.append(note + _store_scores(store, reviews, has_text, hashes, sentiment, version, stored,
                                      saved))
    return sentiment


def _save_part(store: Store, reviews: pd.DataFrame, rows: pd.Series, hashes: pd.Series,
               sentiment: pd.Series, version: str) -> int:
    """Save the scores of the reviews ``rows`` (scored in this part of a long run), so a run
    that is stopped keeps them; 0 when the workspace cannot take them now."""
    if getattr(store, "read_only", False) or not rows.any():
        return 0
    part = pd.DataFrame({"review_id": reviews.loc[rows, "review_id"].astype(str),
                         "text_hash": hashes[rows[rows].index], "model_version": version,
                         "sentiment": sentiment[rows]})
    try:
        return store.save_review_scores(part)
    except StoreError:  # the final save tries again and says why
        return 0


def _store_scores(store: Store, reviews: pd.DataFrame, has_text: pd.Series, hashes: pd.Series,
                  sentiment: pd.Series, version: str | None, stored: pd.DataFrame,
                  saved_before: int = 0) -> str:
    """Save the scores of reviews not stored yet under ``version`` (``saved_before`` were
    saved part by part during the run); the note's ending."""
    if not version:
        return "; a model without a version: scores not stored"
    rows = pd.DataFrame({"review_id": reviews.loc[has_text, "review_id"].astype(str),
                         "text_hash": hashes, "model_version": version,
                         "sentiment": sentiment[has_text]})
    done = set(stored["review_id"].astype(str) + "\x1f" + stored["text_hash"])
    rows = rows[~(rows["review_id"] + "\x1f" + rows["text_hash"]).isin(done)]
    if rows.empty:
        return ""
    if getattr(store, "read_only", False):
        return f"; {len(rows):,} new score(s) not stored (the workspace is open read-only)"
    try:
        saved = saved_before + store.save_review_scores(rows)
    except StoreError as exc:  # e.g. a lock held by another writer: the scores are still right
        return f"; {len(rows) - saved_before:,} new score(s) not stored ({exc})"
    return f"; {saved:,} review score(s) stored for the next run"


@dataclass
class AlertsResult:
    """Negative-sentiment alerts and how they were found."""

    alerts: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    assumptions: dict[str, Any] = field(default_factory=dict)

    def records(self, lang: str = "en") -> list[dict[str, Any]]:
        rows = []
        for a in self.alerts.itertuples(index=False):
            rec = {k: (v.strftime("%Y-%m-%d") if isinstance(v, pd.Timestamp) else v)
                   for k, v in a._asdict().items()}
            rec["reason"] = alert_reason(a._asdict(), lang, recent=int(self.assumptions.get("recent", 7)))
            rows.append(rec)
        return rows

    def as_dict(self, lang: str = "en") -> dict[str, Any]:
        return {"alerts": self.records(lang), "notes": self.notes, "assumptions": self.assumptions}


def alert_reason(alert: dict[str, Any], lang: str = "en", *, recent: int = 7) -> str:
    """One sentence on why an alert fired, in English or Chinese."""
    peak = pd.Timestamp(alert["peak"]).strftime("%Y-%m-%d")
    k, n, share, p0 = alert["k_recent"], alert["n_recent"], alert["share_recent"], alert["p0"]
    words = list(alert.get("keywords_zh") or []) + list(alert.get("keywords_en") or [])
    if lang == "zh":
        text = f"截至{peak}的{recent}天内{n}条评价中{k}条为负面（{share:.0%}），此前约{p0:.0%}"
        return text + (f"；关键词：{'、'.join(words)}" if words else "")
    text = f"{k} of {n} reviews negative in the {recent} days to {peak} ({share:.0%}), vs {p0:.0%} before"
    return text + (f"; keywords: {', '.join(words)}" if words else "")


def sentiment_alerts(store: Store, *, source: Source = "auto", since: str | None = None,
                     n_threads: int = 2, progress: Progress | None = None, model: Any = None,
                     rule: Any = None) -> AlertsResult:
    """Negative-sentiment alerts over the stored reviews (every alert since ``since``).

    Args:
        store: the workspace.
        source: ``auto`` (stars when 80% of reviews have them, else text), ``model`` (text
            sentiment) or ``rating`` (stars).
        since: only alerts whose last alert day is on or after this date.
        n_threads: encoder threads.
        progress: embedding progress callback.
        model: a fitted SentimentModel (default the packaged head).
        rule: an :class:`trendcast.text.alerts.AlertRule` (default thresholds otherwise).
    """
    from trendcast.text.alerts import AlertRule
    from trendcast.text.alerts import sentiment_alerts as find_alerts
    from trendcast.text.signals import daily_signals

    rule = rule or AlertRule()
    reviews = score_reviews(store, source=source, n_threads=n_threads, progress=progress, model=model)
    signals = daily_signals(reviews)
    alerts = find_alerts(signals, reviews, rule=rule)
    notes = list(reviews.attrs["notes"])
    if since is not None:
        try:
            cut = pd.Timestamp(since)
        except ValueError:
            raise DataValidationError(f"since must be a date like 2025-01-31, got {since!r}") from None
        alerts = alerts[alerts["end"] >= cut].reset_index(drop=True)
        notes.append(f"alerts active on or after {cut.date()}")
    last = signals["ds"].max()
    notes.append(f"{len(alerts)} alert(s); reviews up to {last.date()}")
    assumptions = {**reviews.attrs["assumptions"], **alerts.attrs.get("assumptions", {})}
    return AlertsResult(alerts, notes, assumptions)


def product_sentiment(store: Store, *, unique_id: str | None = None, source: Source = "model",
                      top: int = 5, n_threads: int = 2, progress: Progress | None = None,
                      model: Any = None) -> pd.DataFrame:
    """Per product: reviews, mean sentiment, share negative (all time and last 28 days) and the
    top keywords of its negative reviews; one product with ``unique_id``.

    Returns:
        ``unique_id, reviews, sentiment, neg_share, reviews_28d, neg_28d, neg_share_28d,
        last_review, keywords``, most negative reviews in the last 28 days first (then the
        highest share negative); ``attrs["notes"]``.
    """
    from trendcast.text.keywords import negative_keywords

    reviews = score_reviews(store, ids=[unique_id] if unique_id else None, source=source,
                            n_threads=n_threads, progress=progress, model=model)
    day = pd.to_datetime(reviews["ts"]).dt.normalize()
    recent = day > day.max() - pd.Timedelta(days=28)
    scored = reviews["sentiment"].notna()
    g = reviews.assign(recent_n=(recent & scored).astype(int),
                       recent_neg=(recent & reviews["negative"]).astype(int),
                       neg=reviews["negative"].astype(int), scored=scored.astype(int), day=day)
    out = g.groupby("unique_id").agg(reviews=("review_id", "size"), sentiment=("sentiment", "mean"),
                                     neg=("neg", "sum"), scored=("scored", "sum"),
                                     reviews_28d=("recent_n", "sum"), neg_28d=("recent_neg", "sum"),
                                     last_review=("day", "max")).reset_index()
    out["neg_share"] = out["neg"] / out["scored"].where(out["scored"] > 0)
    out["neg_share_28d"] = out["neg_28d"] / out["reviews_28d"].where(out["reviews_28d"] > 0)
    kw = negative_keywords(reviews, top=top)
    words = kw.groupby("unique_id")["keyword"].agg(list) if len(kw) else pd.Series(dtype=object)
    out["keywords"] = out["unique_id"].map(words).apply(lambda v: v if isinstance(v, list) else [])
    out = out.sort_values(["neg_28d", "neg_share"], ascending=False, na_position="last", ignore_index=True)
    out = out[["unique_id", "reviews", "sentiment", "neg_share", "reviews_28d", "neg_28d", "neg_share_28d",
               "last_review", "keywords"]]
    out.attrs["notes"] = list(reviews.attrs["notes"]) + [
        f"last 28 days = the 28 days to {day.max().date()} (the last review day)"]
    return out


def negative_texts(texts: pd.Series, *, n_threads: int = 2) -> np.ndarray:
    """Whether the packaged sentiment model reads each review text as negative (P(positive)
    < 0.5; empty texts are not negative): the complaints of reviews without stars. Scores are
    remembered for the life of the process under the model's version."""
    from trendcast.text.sentiment import SentimentModel

    texts = texts.fillna("").astype(str)
    has_text = texts.str.strip() != ""
    if not has_text.any():
        return np.zeros(len(texts), dtype=bool)
    model = SentimentModel.pretrained(n_threads=n_threads)
    version = getattr(model, "version", None) or "unversioned"
    hashes = texts[has_text].map(text_hash)
    todo = texts[has_text][~hashes.duplicated() & ~hashes.map(lambda h: (version, h) in _SCORES)]
    if len(todo):
        fresh = model.predict_proba(todo.tolist())[:, 1]
        if len(_SCORES) + len(todo) > _CACHE_MAX:
            _SCORES.clear()
        _SCORES.update({(version, h): v for h, v in zip(hashes[todo.index], fresh.tolist(), strict=True)})
    scores = hashes.map(lambda h: _SCORES.get((version, h), np.nan)).astype(float)
    return (scores.reindex(texts.index) < 0.5).to_numpy()
