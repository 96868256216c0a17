"""Purchase propensity use case: read the workspace's behaviour events, measure the model on a
holdout cutoff, refit on every labelled cutoff and score the pairs active now."""

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
    PropensityModel,
    base_rate_note,
    build_features,
    evaluate_propensity,
    make_dataset,
    prepare_events,
    score_pairs,
)


@dataclass
class PropensityRun:
    """Top-scored pairs now, and the holdout figures measured before scoring."""

    level: str
    days: int
    scores: pd.DataFrame  # key columns, probability, basis (model / base_rate)
    holdout: dict[str, dict[str, float]]
    counts: dict[str, float]
    split: dict[str, Any]
    base_rate: float
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"level": self.level, "days": self.days, "base_rate": self.base_rate,
                "holdout": self.holdout, "counts": self.counts, "split": self.split,
                "notes": self.notes, "scores": self.scores.to_dict(orient="records")}


def run_propensity(store: Store, *, days: int = 3, level: Level = "item", top: int = 20,
                   max_train_cutoffs: int = 7, seed: int = 0) -> PropensityRun:
    """Score who buys what in the next ``days`` days from the stored ``events`` table.

    The holdout AUC comes from a model trained on earlier cutoffs and tested on the last one
    whose label window the data covers; the scores come from a model refit on all of those
    cutoffs, applied at the midnight after the last event.
    """
    raw = store.events()
    if raw.empty:
        raise NotFoundError("the workspace has no behaviour events; ingest some first "
                            "(trendcast ingest FILE --kind events, --format taobao, or trendcast demo)")
    events = prepare_events(raw)
    ev = evaluate_propensity(events, days=days, level=level, max_train_cutoffs=max_train_cutoffs,
                             seed=seed)
    split = ev.split
    # Every midnight whose label window ends by `now` may teach the scoring model.
    first = min(split.train_cutoffs)
    cutoffs = [c for c in (split.test_cutoff - pd.Timedelta(days=k) for k in range(max_train_cutoffs))
               if c >= first][::-1]
    data = make_dataset(events, cutoffs, days, level=level)
    model = PropensityModel("lightgbm", seed=seed).fit(data, KEY[level])
    now = build_features(events, split.now, level=level)
    scored = score_pairs(model, now, level=level) if len(now) else pd.DataFrame(
        columns=[*KEY[level], "probability", "basis"])
    scored = scored.sort_values("probability", ascending=False, kind="stable", ignore_index=True)
    notes = [
        f"scored {len(scored):,} {level} pairs active in the {max(WINDOWS)} days before {split.now} "
        f"(the midnight after the last event) for a purchase by {split.now + pd.Timedelta(days=days)}",
        f"scoring model refit on cutoffs {', '.join(str(c.date()) for c in cutoffs)}",
        *ev.notes,
        base_rate_note(max(WINDOWS), model.base_rate_),
    ]
    return PropensityRun(level, days, scored.head(max(int(top), 0)), ev.metrics, ev.counts,
                         split.as_dict(), model.base_rate_, notes)
