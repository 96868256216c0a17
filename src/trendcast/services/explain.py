"""Explain one product's forecast: fit the model on the workspace as ``run_forecast`` does
(same covariates, through the same :class:`~trendcast.engine.runner.Runner`), forecast, and
split the forecast into drivers."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence

from trendcast.data.store import Store
from trendcast.engine.runner import Runner
from trendcast.errors import NotFoundError
from trendcast.insights.explain import Explanation, explain_boosting, explain_decomposition
from trendcast.models.base import check_horizon
from trendcast.models.boosting import LightGBMGlobal
from trendcast.models.registry import make_model
from trendcast.models.statistical import clip_negative


def explain_forecast(store: Store, unique_id: str, *, model: str = "LightGBM", days: int = 7,
                     n_jobs: int = 1) -> Explanation:
    """Fit ``model``, forecast ``days`` periods (days of daily sales, weeks of weekly, ...)
    and explain the forecast of ``unique_id``; the texts count the workspace's periods.

    LightGBM models are fitted on every series with price, promotion, calendar and hierarchy
    covariates (as ``trendcast forecast`` does) and explained by SHAP against the product's
    recent days; other models are fitted on the product alone (covariate-using ensembles on
    every series) and explained by a decomposition of its history.
    """
    return explain_many(store, [unique_id], model=model, days=days, n_jobs=n_jobs)[0]


def explain_many(store: Store, ids: Sequence[str], *, model: str = "LightGBM", days: int = 7,
                 n_jobs: int = 1) -> list[Explanation]:
    """``explain_forecast`` for several products with one fit of a global model."""
    days = check_horizon(days)
    ids = list(ids)
    if not ids:
        raise NotFoundError("no product ids to explain; pass --id PRODUCT")
    known = set(store.series_ids(ids))
    missing = [i for i in ids if i not in known]
    if missing:
        raise NotFoundError(f"no sales for product {missing[0]!r}; `trendcast info` shows what the "
                            "workspace holds, and ids are case-sensitive")
    forecaster = make_model(model, n_jobs=n_jobs)
    runner = Runner([forecaster], n_jobs=n_jobs)
    with tempfile.TemporaryDirectory(prefix="trendcast-explain-") as tmp:
        snap = store.snapshot(tmp, None if forecaster.supports_exog else ids)
        calendar = snap.calendar()
        macro = snap.macro()
        fitted = runner.fit(snap, days, ids=ids)
    notes: list[str] = list(fitted.notes)
    uses = getattr(fitted.model, "uses_drivers", forecaster.params.get("drivers", False))
    if macro is not None and not macro.empty and not uses:
        names = ", ".join(sorted(map(str, macro["name"].unique()))[:5])
        notes.append(f"{forecaster.alias} does not use the workspace's external series ({names}); "
                     "explain with --model LightGBMDrivers to see them as a driver")
    elif uses and getattr(fitted.model, "chosen_name_", None):
        notes.append(f"{fitted.model.alias} chose {fitted.model.chosen_name_}, which learns from the "
                     "workspace's external series; this explanation does not separate them: explain "
                     "with --model LightGBMDrivers to see them as a driver")
    if calendar.empty:
        notes.insert(0, "the workspace has no calendar events: festivals cannot be named "
                     "(run `trendcast festivals`)")
    results = []
    if isinstance(fitted.model, LightGBMGlobal):
        for uid in ids:
            results.append(explain_boosting(fitted.model, uid, days, X_df=fitted.future,
                                            train_df=fitted.history, calendar=calendar,
                                            freq=fitted.freq))
    else:
        fc = clip_negative(fitted.model.predict(days, X_df=fitted.future))
        for uid in ids:
            own = fc[fc["unique_id"] == uid].rename(columns={fitted.model.alias: "forecast"})
            history = fitted.history.loc[fitted.history["unique_id"] == uid, ["ds", "y"]]
            results.append(explain_decomposition(history, own, unique_id=uid,
                                                 model=fitted.model.alias, calendar=calendar,
                                                 freq=fitted.freq))
    for result in results:
        result.notes.extend(notes)
    return results
