"""Cold start in the forecast use cases: new products get their category's launch curve.

After the runner has forecast the stored series, :func:`apply_cold_start` finds the
catalogue's cold products (:func:`trendcast.models.coldstart.cold_ids`: not launched yet, or
launched fewer than ``min_age`` days before the last sales date), fits
:class:`~trendcast.models.coldstart.ColdStart` on the launches the workspace has seen, and
replaces (or adds) their rows under every model of the run. The run's notes and its
``params["cold_start"]`` list them; once a product has ``min_age`` days since its launch the
models forecast it from its own history again. Daily runs only (the curve is in days).
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from trendcast.data.store import Store
from trendcast.engine.runner import RunOutput
from trendcast.errors import ModelError
from trendcast.models.coldstart import ColdStart, anchors, cold_ids
from trendcast.schema import quantile_column

MIN_AGE = ColdStart().min_age


def apply_cold_start(store: Store, out: RunOutput, h: int, qs: Sequence[float], *,
                     ids: Sequence[str] | None = None, min_age: int = MIN_AGE) -> list[str]:
    """Forecast the cold products of the catalogue (of ``ids``) from launch curves, in place
    in ``out`` (rows under every alias, a note); returns their ids (sorted)."""
    if out.freq != "D":
        return []
    span = store.sales_span()
    if span is None:
        return []
    products = store.products(ids, columns=["unique_id", "category", "list_price", "launch_date"])
    if products.empty:
        return []
    products = products.assign(unique_id=products["unique_id"].astype(str))
    stats = store.launch_stats().set_index("unique_id")
    start, origin = span
    cold = cold_ids(products, stats["first_sale"], stats["first_row"], origin=origin, min_age=min_age)
    if not cold:
        return []
    catalogue = store.products(columns=["unique_id", "category", "list_price", "launch_date"])
    catalogue = catalogue.assign(unique_id=catalogue["unique_id"].astype(str))
    anchor = anchors(catalogue, stats["first_sale"])
    model = ColdStart(min_age=min_age)
    # the cold products themselves teach nothing: their launches are days old (a curve learnt
    # from a new store's one day was that day, repeated)
    launched = anchor[(anchor >= start + pd.Timedelta(days=model.margin_days)) & (anchor <= origin)
                      & ~anchor.index.isin(set(cold))]
    try:
        if launched.empty:
            raise ModelError("no product launched inside the data")
        sales = store.sales(list(launched.index), columns=["unique_id", "ds", "y", "price"],
                            start=launched.min())
        model.fit(sales, catalogue[~catalogue["unique_id"].isin(set(cold))], start=start, end=origin)
    except ModelError as exc:
        forecast = set(out.forecasts["unique_id"].astype(str))
        kept = [u for u in cold if u in forecast]
        unsold = [u for u in cold if u not in forecast]
        said = [f"{len(kept):,} new product(s) ({_some(kept)}) keep the models' forecasts"] if kept else []
        said += [f"{len(unsold):,} without sales ({_some(unsold)}) are not forecast"] if unsold else []
        out.notes.append(f"cold start: {'; '.join(said)}: no launch curve could be learnt ({exc})")
        return []
    history = store.sales(cold, columns=["unique_id", "ds", "y", "price"])
    chosen = products[products["unique_id"].isin(set(cold))]
    fc = model.predict(h, chosen, history, origin=origin, quantiles=list(qs))
    rows = fc[["unique_id", "ds"]].copy()
    for alias in out.aliases:
        rows[alias] = fc[model.alias].to_numpy()
        for q in qs:
            col = quantile_column(alias, q)
            if col in out.forecasts.columns:
                rows[col] = fc[quantile_column(model.alias, q)].to_numpy()
    wide = out.forecasts
    known = set(wide["unique_id"].astype(str))
    kept = wide[~wide["unique_id"].astype(str).isin(set(cold))]
    out.forecasts = pd.concat([kept, rows[[c for c in wide.columns if c in rows.columns]]],
                              ignore_index=True).sort_values(["unique_id", "ds"], ignore_index=True)
    out.n_series += len([u for u in cold if u not in known])
    out.notes.append(
        f"cold start: {len(cold):,} new product(s) (not launched yet, or launched fewer than {min_age} "
        f"days before {pd.Timestamp(origin).date()}) forecast by every model from their category's "
        f"launch curve, price band and weekday profile, not from their own history: {_some(cold)}; "
        f"learnt from {len(launched):,} launches inside the data")
    return cold


def _some(ids: Sequence[str], n: int = 10) -> str:
    return ", ".join(ids[:n]) + ("..." if len(ids) > n else "")
