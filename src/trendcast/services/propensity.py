"""Purchase propensity use case: read the workspace's behaviour events, choose the model on a
validation cutoff, measure it on the holdout cutoff, refit it on every labelled cutoff,
calibrate it on the holdout and score the pairs active now (or the pairs asked for)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from trendcast.data.store import Store
from trendcast.errors import NotFoundError
from trendcast.insights.propensity import (
    KEY,
    WINDOWS,
    Level,
    PlattCalibrator,
    PropensityModel,
    build_features,
    evaluate_propensity,
    make_dataset,
    prepare_events,
    score_pairs,
    segment_rates,
    user_bands,
)


@dataclass
class PropensityRun:
    """Top-scored pairs now, the model that scored them and why, and the holdout figures."""

    level: str
    days: int
    scores: pd.DataFrame  # key columns, probability, basis (model / segment: ...), cold
    holdout: dict[str, dict[str, float]]
    counts: dict[str, float]
    split: dict[str, Any]
    model: str
    selection: dict[str, Any]
    calibration: dict[str, Any]
    segments: pd.DataFrame
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"level": self.level, "days": self.days, "model": self.model,
                "selection": self.selection, "holdout": self.holdout,
                "calibration": self.calibration, "counts": self.counts, "split": self.split,
                "segments": self.segments.to_dict(orient="records"),
                "notes": self.notes, "scores": self.scores.to_dict(orient="records")}


def run_propensity(store: Store, *, days: int = 3, level: Level = "item", top: int = 20, k: int = 100,
                   pairs: pd.DataFrame | None = None, max_train_cutoffs: int = 7,
                   seed: int = 0) -> PropensityRun:
    """Score who buys what in the next ``days`` days from the stored ``events`` table.

    The model (LightGBM, the recency-frequency baseline or their rank blend) is chosen by
    average precision and precision@``k`` on the latest validation cutoff before the holdout
    cutoff (rule: :func:`trendcast.insights.propensity.choose_model`); the holdout
    figures come from models trained on earlier cutoffs. The scores come from the chosen kind
    refit on every cutoff whose label window the data covers, Platt-calibrated on the
    holdout cutoff and applied at the midnight after the last event. ``pairs`` (user_id plus
    item_id or category_id) are scored instead of the active pairs when given; those without
    recent activity get their user's segment rate, flagged ``cold``.
    """
    raw = store.events()
    if raw.empty:
        raise NotFoundError("the workspace has no behaviour events; ingest some first "
                            "(trendcast ingest FILE --kind events, --format taobao, or trendcast demo)")
    events = prepare_events(raw)
    ev = evaluate_propensity(events, days=days, level=level, k=k, max_train_cutoffs=max_train_cutoffs,
                             seed=seed)
    split = ev.split
    kind = ev.shipped
    # calibrate on the holdout cutoff: the latest scores the refit has not been trained on
    y = ev.test["label"].to_numpy(dtype=int)
    calibrator = PlattCalibrator().fit(ev.test[f"p_{kind}"].to_numpy(), y, ev.models[kind].base_rate_)
    # Every midnight whose label window ends by `now` may teach the scoring model.
    first = min(split.train_cutoffs)
    cutoffs = [c for c in (split.test_cutoff - pd.Timedelta(days=d) for d in range(max_train_cutoffs))
               if c >= first][::-1]
    data = make_dataset(events, cutoffs, days, level=level)
    model = PropensityModel(kind, seed=seed).fit(data, KEY[level])  # type: ignore[arg-type]
    segments = segment_rates(events, cutoffs, days, level=level, lookback_days=max(WINDOWS))
    now = build_features(events, split.now, level=level)
    if len(now):
        scored = score_pairs(model, now, level=level, pairs=pairs, calibrator=calibrator,
                             segments=segments, bands=user_bands(events, split.now))
    else:
        scored = pd.DataFrame(columns=[*KEY[level], "probability", "basis", "cold"])
    scored = scored.sort_values("probability", ascending=False, kind="stable", ignore_index=True)
    what = f"{len(scored):,} requested pairs" if pairs is not None else (
        f"{len(scored):,} {level} pairs active in the {max(WINDOWS)} days before {split.now}")
    notes = [
        f"scored {what} (the midnight after the last event is {split.now}) for a purchase by "
        f"{split.now + pd.Timedelta(days=days)}",
        f"model: {kind} ({ev.selection.reason})",
        f"scoring model refit on cutoffs {', '.join(str(c.date()) for c in cutoffs)}; probabilities "
        f"Platt-calibrated on the holdout cutoff {split.test_cutoff.date()}",
        *ev.notes[1:],
    ]
    calibration = {**ev.calibration, "scoring": {"coef": calibrator.coef_,
                                                 "intercept": calibrator.intercept_}}
    return PropensityRun(level, days, scored.head(max(int(top), 0)), ev.metrics, ev.counts,
                         split.as_dict(), kind, ev.selection.as_dict(), calibration, segments, notes)
