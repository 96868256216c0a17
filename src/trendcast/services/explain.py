"""Explain one product's forecast: fit the model on the workspace as ``run_forecast`` does
(same covariates), forecast, and split the forecast into drivers."""

from __future__ import annotations

from collections.abc import Sequence

from trendcast.data.store import Store
from trendcast.errors import NotFoundError
from trendcast.insights.explain import Explanation, explain_boosting, explain_decomposition
from trendcast.models.base import check_horizon
from trendcast.models.boosting import LightGBMGlobal
from trendcast.models.registry import make_model
from trendcast.models.statistical import clip_negative


def explain_forecast(store: Store, unique_id: str, *, model: str = "LightGBM", days: int = 7,
                     n_jobs: int = 1) -> Explanation:
    """Fit ``model``, forecast ``days`` days and explain the forecast of ``unique_id``.

    LightGBM models are fitted on every series with price, promotion, calendar and hierarchy
    covariates (as ``trendcast forecast`` does) and explained by SHAP against the product's
    recent days; other models are fitted on the product alone (covariate-using ensembles on
    every series) and explained by a decomposition of its history.
    """
    return explain_many(store, [unique_id], model=model, days=days, n_jobs=n_jobs)[0]


def explain_many(store: Store, ids: Sequence[str], *, model: str = "LightGBM", days: int = 7,
                 n_jobs: int = 1) -> list[Explanation]:
    """``explain_forecast`` for several products with one fit of a global model."""
    from trendcast.features.exog import add_covariates, future_covariates
    from trendcast.services.forecast import load_series

    days = check_horizon(days)
    ids = list(ids)
    if not ids:
        raise NotFoundError("no product ids to explain; pass --id PRODUCT")
    marks = ",".join("?" * len(ids))
    known = set(store.sql(f"SELECT DISTINCT unique_id FROM sales WHERE unique_id IN ({marks})",
                          ids)["unique_id"])
    missing = [i for i in ids if i not in known]
    if missing:
        raise NotFoundError(f"no sales for product {missing[0]!r}; `trendcast info` shows what the "
                            "workspace holds, and ids are case-sensitive")
    forecaster = make_model(model, n_jobs=n_jobs)
    calendar = store.read("calendar_events")
    notes: list[str] = []
    if calendar.empty:
        notes.append("the workspace has no calendar events: festivals cannot be named "
                     "(run `trendcast festivals`)")
    if forecaster.supports_exog:
        df = load_series(store)
        exog = add_covariates(store, df, horizon=days)
        future, future_notes = future_covariates(exog, days, df.attrs["freq"])
        notes.extend(future_notes)
        forecaster.fit(exog)
    else:
        df = load_series(store, ids)
        exog, future = df, None
        forecaster.fit(df)
    results = []
    if isinstance(forecaster, LightGBMGlobal):
        for uid in ids:
            results.append(explain_boosting(forecaster, uid, days, X_df=future, train_df=exog,
                                            calendar=calendar))
    else:
        fc = clip_negative(forecaster.predict(days, X_df=future))
        for uid in ids:
            own = fc[fc["unique_id"] == uid].rename(columns={forecaster.alias: "forecast"})
            history = df.loc[df["unique_id"] == uid, ["ds", "y"]]
            results.append(explain_decomposition(history, own, unique_id=uid,
                                                 model=forecaster.alias, calendar=calendar))
    for result in results:
        result.notes.extend(notes)
    return results
