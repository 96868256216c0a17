"""Retention for a workspace that forecasts every day (`trendcast prune`).

Each daily update stores a forecast run (series x horizon x models x quantiles rows) and the
accuracy scores of the days that arrived; each refit stores a model version. Left alone, a
catalogue of 30,000 products adds about 3 million forecast rows a day. ``prune`` deletes:

- runs created more than ``keep_days`` ago, with their forecasts, metrics and cleaning
  changes, except the newest run of each kind, the validation runs of the versions kept and
  forecast runs whose days are not all past the last sales date (not fully scored yet);
- accuracy scores of forecast days more than ``scores_days`` before the last sales date
  (None: keep all): the workspace's own calendar, so a shop replaying old data keeps them;
- model versions beyond the newest ``keep_versions``, created more than ``keep_days`` ago,
  never the promoted one.

Monitoring's history is the scores, not the runs, so accuracy over time and drift alerts
are unchanged by pruning runs.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from trendcast.data.store import Store
from trendcast.errors import ModelError


@dataclass
class PruneResult:
    """What a prune deleted (or, with ``dry_run``, would delete)."""

    runs: list[str]
    rows: dict[str, int]
    scores: int
    versions: list[str]
    dry_run: bool

    def summary(self) -> str:
        verb = "would delete" if self.dry_run else "deleted"
        rows = ", ".join(f"{n:,} {t}" for t, n in self.rows.items() if n) or "no rows"
        return (f"prune: {verb} {len(self.runs):,} run(s) ({rows}), {self.scores:,} accuracy "
                f"score(s), {len(self.versions)} model version(s)")


def prune(store: Store, *, keep_days: int = 90, keep_versions: int = 5,
          scores_days: int | None = 400, dry_run: bool = False,
          now: pd.Timestamp | None = None) -> PruneResult:
    """Delete what the module docstring lists; ``dry_run`` only counts it."""
    if keep_days < 1 or keep_versions < 1 or (scores_days is not None and scores_days < 1):
        raise ModelError(f"prune keeps at least 1 day and 1 version; got keep_days={keep_days}, "
                         f"keep_versions={keep_versions}, scores_days={scores_days}")
    now = pd.Timestamp.now() if now is None else pd.Timestamp(now)
    before = now - pd.Timedelta(days=keep_days)
    versions = [v for v in store.model_versions()[keep_versions:]  # newest first
                if v["status"] != "promoted" and pd.Timestamp(v["created_at"]) < before]
    dropping = [str(v["version_id"]) for v in versions]
    run_ids = [str(r) for r in store.prunable_runs(before, dropping=dropping)["run_id"]]
    span = store.sales_span() if scores_days is not None else None
    score_cut = None if span is None else pd.Timestamp(span[1]) - pd.Timedelta(days=scores_days)
    if dry_run:
        rows = store.count_run_rows(run_ids)
        scores = 0 if score_cut is None else store.count_scores_before(score_cut)
    else:
        for v in versions:
            store.delete_model_version(str(v["version_id"]))
        rows = store.delete_runs(run_ids)
        scores = 0 if score_cut is None else store.delete_scores_before(score_cut)
    return PruneResult(run_ids, rows, scores, dropping, dry_run)
