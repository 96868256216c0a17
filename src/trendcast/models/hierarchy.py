"""Coherent forecasts across the product hierarchy (store > category > department > item).

:func:`reconcile` takes item-level forecasts, forecasts every aggregate node with a base model
(AutoETS unless ``make_base`` says otherwise), and reconciles all levels with
hierarchicalforecast so that every aggregate equals the sum of its children.

Methods (case-insensitive):

- ``BottomUp``: aggregates are sums of the item forecasts (no aggregate model is fitted).
- ``MinTrace``: MinT with a shrunk residual covariance (``mint_shrink``). Residuals come from
  one holdout window of the base model over every node (items included) at the end of the
  history, because trendcast models do not expose in-sample fitted values. When that is not
  possible (history too short, residuals degenerate) it falls back to ``MinTraceWLS`` with a
  warning; the method used is in ``result.attrs["method"]``.
- ``MinTraceOLS`` / ``MinTraceWLS``: MinT with identity / structural weights (no residuals).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from trendcast.errors import ModelError
from trendcast.models.base import Forecaster

DEFAULT_LEVELS: tuple[tuple[str, ...], ...] = (
    ("store",), ("store", "category"), ("store", "category", "department"))
ITEM_LEVEL = "item"
_ITEM_COL = "__item__"
_METHODS = {"bottomup": "BottomUp", "mintrace": "mint_shrink", "mintraceols": "ols",
            "mintracewls": "wls_struct"}


def reconcile(
    forecasts: pd.DataFrame,
    history: pd.DataFrame,
    products: pd.DataFrame,
    *,
    model: str,
    levels: Sequence[Sequence[str]] = DEFAULT_LEVELS,
    method: str = "MinTrace",
    make_base: Callable[[], Forecaster] | None = None,
) -> pd.DataFrame:
    """Reconciled forecasts for every node of the hierarchy.

    Args:
        forecasts: item forecasts ``unique_id, ds, <model>`` (other columns are ignored);
            every item must cover the same dates.
        history: item history ``unique_id, ds, y`` the forecasts were made from.
        products: ``unique_id`` plus the hierarchy columns named in ``levels``.
        model: the forecast column to reconcile (also the output column).
        levels: aggregate levels, top first; each a list of product columns. Node ids join
            the values with "/" (``"CA_1"``, ``"CA_1/FOODS"``, ``"CA_1/FOODS/FOODS_3"``).
        method: ``"BottomUp"``, ``"MinTrace"``, ``"MinTraceOLS"`` or ``"MinTraceWLS"``.
        make_base: builds the base model for the aggregate series (and, for MinTrace, the
            holdout residuals); default ``make_model("AutoETS")``. Use the items' model class.

    Returns:
        ``unique_id, ds, <model>, level`` for every aggregate node and item; ``level`` is the
        level's columns joined by "/" (``"store/category"``) or ``"item"``.
    """
    from hierarchicalforecast.core import HierarchicalReconciliation
    from hierarchicalforecast.methods import BottomUp, MinTrace
    from hierarchicalforecast.utils import aggregate

    kind = _METHODS.get(str(method).lower())
    if kind is None:
        raise ModelError(f"unknown reconciliation method {method!r}; use one of "
                         "BottomUp, MinTrace, MinTraceOLS, MinTraceWLS")
    spec, hier_cols = _spec(levels)
    fc, hist, h, dates = _check_inputs(forecasts, history, products, model, hier_cols)
    if make_base is None:
        from trendcast.models.registry import make_model

        def make_base() -> Forecaster:
            return make_model("AutoETS")

    # Hierarchy: aggregate the item history; bottom ids "<store>/.../<item>" -> item ids.
    prod = products.drop_duplicates("unique_id").assign(unique_id=lambda d: d["unique_id"].astype(str))
    frame = hist.merge(prod[["unique_id", *hier_cols]], on="unique_id", how="left")
    frame = frame.rename(columns={"unique_id": _ITEM_COL})
    frame[hier_cols] = frame[hier_cols].astype(str)
    bottom_spec = [*hier_cols, _ITEM_COL]
    y_df, s_df, tags = aggregate(frame[["ds", "y", *bottom_spec]], [*spec, bottom_spec])
    bottom_key = "/".join(bottom_spec)
    keys = frame[bottom_spec].drop_duplicates()
    to_item = dict(zip(keys[bottom_spec].agg("/".join, axis=1), keys[_ITEM_COL], strict=True))
    agg_ids = [u for k, v in tags.items() if k != bottom_key for u in v]
    clash = sorted(set(agg_ids) & set(to_item.values()))
    if clash:
        raise ModelError(f"item ids collide with aggregate node ids: {clash[:5]}")
    y_df["unique_id"] = y_df["unique_id"].map(lambda u: to_item.get(u, u))
    s_df["unique_id"] = s_df["unique_id"].map(lambda u: to_item.get(u, u))
    s_df = s_df.rename(columns=to_item)
    tags = {(ITEM_LEVEL if k == bottom_key else k): np.array([to_item.get(u, u) for u in v])
            for k, v in tags.items()}
    y_df = y_df[["unique_id", "ds", "y"]]

    # Base forecasts of the aggregates with the base model (BottomUp ignores them: zeros).
    if kind == "BottomUp":
        agg_fc = pd.DataFrame({"unique_id": np.repeat(agg_ids, h),
                               "ds": np.tile(dates.to_numpy(), len(agg_ids)), model: 0.0})
    else:
        agg_hist = y_df[y_df["unique_id"].isin(set(agg_ids))]
        base = make_base().fit(agg_hist)
        agg_fc = base.predict(h)[["unique_id", "ds", base.alias]].rename(
            columns={base.alias: model})
        agg_fc["unique_id"] = agg_fc["unique_id"].astype(str)
        if agg_fc[model].isna().any():
            raise ModelError(f"the base model {base.alias} left aggregate forecasts missing "
                             "(history too short for it?); use method='BottomUp' or another "
                             "make_base")
    want = tuple(dates)
    bad = agg_fc.sort_values("ds").groupby("unique_id")["ds"].apply(lambda s: tuple(s) != want)
    if bad.any():
        raise ModelError(
            f"item forecasts cover {dates.iloc[0].date()}..{dates.iloc[-1].date()} but the "
            f"aggregates forecast from the day after the history ends "
            f"({agg_fc['ds'].min().date()}); forecast the items from the same history"
        )
    y_hat = pd.concat([agg_fc, fc], ignore_index=True)

    # Reconcile.
    used = "BottomUp" if kind == "BottomUp" else f"MinTrace_{kind}"
    insample = None
    if kind == "mint_shrink":
        insample, why = _holdout_residuals(y_df, make_base, h, model)
        if insample is None:
            warnings.warn(f"MinTrace shrinkage needs holdout residuals ({why}); "
                          "using structural weights (MinTraceWLS) instead", stacklevel=2)
            kind, used = "wls_struct", "MinTrace_wls_struct"
    reconciler = BottomUp() if kind == "BottomUp" else MinTrace(method=kind)
    hrec = HierarchicalReconciliation([reconciler])
    try:
        out = hrec.reconcile(Y_hat_df=y_hat, S_df=s_df, tags=tags, Y_df=insample)
    except Exception as exc:  # hierarchicalforecast raises bare Exception for degenerate MinT
        if kind != "mint_shrink":
            raise
        warnings.warn(f"MinTrace shrinkage failed ({exc}); using structural weights "
                      "(MinTraceWLS) instead", stacklevel=2)
        used = "MinTrace_wls_struct"
        hrec = HierarchicalReconciliation([MinTrace(method="wls_struct")])
        out = hrec.reconcile(Y_hat_df=y_hat, S_df=s_df, tags=tags)
    col = next(c for c in out.columns if c.startswith(f"{model}/"))
    result = pd.DataFrame({"unique_id": out["unique_id"].astype(str), "ds": out["ds"],
                           model: out[col].to_numpy(dtype=float)})
    level_of = {u: k for k, ids in tags.items() for u in ids}
    result["level"] = result["unique_id"].map(level_of)
    order = {k: i for i, k in enumerate(tags)}
    result = result.sort_values(["level", "unique_id", "ds"],
                                key=lambda s: s.map(order) if s.name == "level" else s,
                                ignore_index=True)
    result.attrs["method"] = used
    return result


def _spec(levels: Sequence[Sequence[str]]) -> tuple[list[list[str]], list[str]]:
    if isinstance(levels, str) or not levels:
        raise ModelError("levels must be a non-empty list of column lists, e.g. "
                         "[['store'], ['store', 'category']]")
    spec = []
    for lv in levels:
        cols = [lv] if isinstance(lv, str) else list(lv)
        if not cols:
            raise ModelError("every hierarchy level must name at least one column")
        spec.append(cols)
    hier_cols = list(dict.fromkeys(c for lv in spec for c in lv))
    return spec, hier_cols


def _check_inputs(forecasts: pd.DataFrame, history: pd.DataFrame, products: pd.DataFrame,
                  model: str, hier_cols: list[str]) -> tuple[pd.DataFrame, pd.DataFrame, int, pd.Series]:
    for name, frame, cols in (("forecasts", forecasts, ["unique_id", "ds", model]),
                              ("history", history, ["unique_id", "ds", "y"])):
        missing = [c for c in cols if c not in frame.columns]
        if missing:
            raise ModelError(f"{name} is missing column(s) {missing}; expected {cols}")
    missing = [c for c in ["unique_id", *hier_cols] if c not in products.columns]
    if missing:
        raise ModelError(
            f"products is missing hierarchy column(s) {missing}; reconciliation needs "
            f"unique_id and {hier_cols} for every item"
        )
    fc = forecasts[["unique_id", "ds", model]].assign(unique_id=lambda d: d["unique_id"].astype(str))
    hist = history[["unique_id", "ds", "y"]].assign(unique_id=lambda d: d["unique_id"].astype(str))
    if fc[model].isna().any():
        raise ModelError(f"forecasts column {model!r} has missing values")
    if hist["y"].isna().any():
        raise ModelError("history has missing y values; fill gaps before reconciling")
    prod = products[["unique_id", *hier_cols]].assign(unique_id=lambda d: d["unique_id"].astype(str))
    items = sorted(fc["unique_id"].unique())
    known = set(prod["unique_id"])
    orphans = [u for u in items if u not in known]
    if orphans:
        raise ModelError(f"{len(orphans)} forecast item(s) have no products row, e.g. "
                         f"{orphans[:5]}; add them to the product catalogue")
    prod = prod[prod["unique_id"].isin(items)]
    if prod[hier_cols].isna().any().any():
        bad = prod.loc[prod[hier_cols].isna().any(axis=1), "unique_id"].tolist()
        raise ModelError(f"products rows lack hierarchy values for {bad[:5]}")
    conflict = prod.drop_duplicates().groupby("unique_id").size()
    if (conflict > 1).any():
        raise ModelError(f"products has conflicting rows for {conflict[conflict > 1].index[:5].tolist()}")
    no_hist = sorted(set(items) - set(hist["unique_id"]))
    if no_hist:
        raise ModelError(f"{len(no_hist)} forecast item(s) have no history, e.g. {no_hist[:5]}")
    hist = hist[hist["unique_id"].isin(items)]
    fc = fc.sort_values(["unique_id", "ds"], ignore_index=True)
    per_item = fc.groupby("unique_id")["ds"].apply(lambda s: tuple(s))
    if per_item.nunique() != 1 or fc.duplicated(["unique_id", "ds"]).any():
        raise ModelError("every item forecast must cover the same dates (one row per date)")
    dates = pd.Series(per_item.iloc[0], name="ds")
    return fc, hist, len(dates), dates


def _holdout_residuals(y_df: pd.DataFrame, make_base: Callable[[], Forecaster], h: int,
                       model: str) -> tuple[pd.DataFrame | None, str]:
    """Actuals and base forecasts of every node over the last ``min(h, n/3)`` periods."""
    from trendcast.models.validation import backtest

    n = y_df["ds"].nunique()
    h_val = min(h, n // 3)
    if h_val < 2:
        return None, f"only {n} periods of history"
    try:
        cv = backtest(make_base, y_df, h=h_val, n_windows=1)
    except ModelError as exc:
        return None, str(exc)
    alias = next(c for c in cv.columns if c not in ("unique_id", "ds", "cutoff", "y")
                 and "-q-" not in c)
    cv = cv[["unique_id", "ds", "y", alias]].rename(columns={alias: model})
    cv["unique_id"] = cv["unique_id"].astype(str)
    if set(cv["unique_id"]) != set(y_df["unique_id"]):
        return None, "some series have no history before the holdout window"
    return cv, ""
