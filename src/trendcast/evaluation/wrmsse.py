"""M5 accuracy (WRMSSE) and uncertainty (weighted SPL) metrics for the series of one store.

M5 scores 12 aggregation levels; for one store four of them apply: the store total, each
category, each department and each item. Every level counts equally, and within a level each
series weighs by its share of dollar sales over the last 28 training days. Errors are scaled
by the series' own one-step naive error in training, counted from its first non-zero sale so
that items listed late are not flattered by their leading zeros (Makridakis et al. 2022, IJF).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from trendcast.errors import DataValidationError
from trendcast.evaluation.metrics import pinball
from trendcast.schema import quantile_column

LEVELS: tuple[str, ...] = ("store", "store_cat", "store_dept", "item")
# Product column that names a level's series; the store level has a single series.
LEVEL_COLUMNS: dict[str, str | None] = {
    "store": None,
    "store_cat": "category",
    "store_dept": "department",
    "item": "unique_id",
}
TOTAL_ID = "Total"
WEIGHT_DAYS = 28


@dataclass(frozen=True)
class WRMSSEResult:
    """Overall score (mean over levels) and the score of each level."""

    total: float
    levels: dict[str, float]


@dataclass(frozen=True)
class _Level:
    ids: pd.Index  # the level's series, sorted
    dates: pd.Index  # test dates, sorted
    y: np.ndarray  # series x horizon actuals
    scale: np.ndarray  # per series; NaN when undefined
    weight: np.ndarray  # per series; sums to 1


def m5_levels(products: pd.DataFrame) -> dict[str, list[str]]:
    """Series ids of each level for the items in ``products`` (one store)."""
    _require_columns(products, ["unique_id", "category", "department"], "products")
    ids = pd.Index(products["unique_id"].drop_duplicates())
    return {level: sorted(set(_level_keys(products, ids, level))) for level in LEVELS}


def aggregate_to_level(
    df: pd.DataFrame, products: pd.DataFrame, level: str, value_cols: Sequence[str]
) -> pd.DataFrame:
    """Sum ``value_cols`` of an item-level long frame to the series of an M5 level.

    Args:
        df: long frame ``unique_id, ds, <value_cols>`` at item level.
        products: ``unique_id, category, department`` (and optionally ``store``) per item.
        level: one of ``LEVELS``.
        value_cols: columns to sum (NaNs are skipped; a group of only NaNs stays NaN).

    Returns:
        Long frame ``unique_id, ds, <value_cols>`` where ``unique_id`` is the level's series:
        the store name (``Total`` when products has no store), the category, the department
        or the item.
    """
    cols = list(value_cols)
    _require_columns(df, ["unique_id", "ds", *cols], "frame to aggregate")
    codes, uniques = pd.factorize(df["unique_id"])
    keys = _level_keys(products, pd.Index(uniques), level)[codes]
    out = df[["ds", *cols]].assign(unique_id=keys)
    out = out.groupby(["unique_id", "ds"], sort=True, as_index=False)[cols].sum(min_count=1)
    return out[["unique_id", "ds", *cols]]


def wrmsse(
    train: pd.DataFrame,
    test: pd.DataFrame,
    forecast: pd.DataFrame,
    products: pd.DataFrame,
    *,
    prices: pd.DataFrame | None = None,
    model: str,
) -> WRMSSEResult:
    """M5 weighted root mean squared scaled error over the store, category, department, item.

    Item forecasts are summed to each level, as M5 does. Per series,
    ``RMSSE = sqrt(mean_h (y - yhat)^2 / scale)`` with ``scale`` the mean squared one-step
    difference of the training history from its first non-zero value.

    Args:
        train: ``unique_id, ds, y`` (daily) and ``price`` unless ``prices`` is given. Days
            missing for a series count as zero sales, as M5 records items before launch.
        test: ``unique_id, ds, y`` over the horizon; every series on every test date.
        forecast: ``unique_id, ds, <model>``; rows outside ``test`` are ignored.
        products: ``unique_id, category, department`` (``store`` optional) per item.
        prices: ``unique_id, ds, price`` to use instead of the ``price`` column of ``train``.
        model: the forecast column.

    Raises:
        ValueError: missing columns, forecasts or prices; NaNs; or a series with sales in the
            last 28 training days whose scale is zero or undefined.
    """
    levels, keys = _prepare(train, test, products, prices, absolute=False)
    fc = _align(keys, forecast, [model], "forecast")
    scores = {}
    for name, lv in levels.items():
        agg = aggregate_to_level(fc, products, name, [model])
        yhat = _matrix(agg, model, lv.ids, lv.dates)
        use = lv.weight > 0
        mse = np.mean((lv.y[use] - yhat[use]) ** 2, axis=1)
        scores[name] = float(np.sum(lv.weight[use] * np.sqrt(mse / lv.scale[use])))
    return WRMSSEResult(float(np.mean(list(scores.values()))), scores)


def spl(
    train: pd.DataFrame,
    test: pd.DataFrame,
    quantile_forecast: pd.DataFrame,
    products: pd.DataFrame,
    *,
    prices: pd.DataFrame | None = None,
    model: str,
    quantiles: Sequence[float],
    level_forecasts: dict[str, pd.DataFrame] | None = None,
    sum_item_quantiles: bool = False,
) -> WRMSSEResult:
    """M5 Uncertainty weighted scaled pinball loss over the store, category, department, item.

    Per series and quantile: pinball loss averaged over the horizon, divided by the mean
    absolute one-step difference of the training history from its first non-zero value;
    then averaged over quantiles, weighted by dollar sales within a level, averaged over levels.

    As in M5, every level is scored on its own quantile forecasts: quantiles of a sum are not
    the sum of quantiles, so the store, category and department levels take theirs from
    ``level_forecasts`` (forecast the aggregates, or calibrate summed item forecasts on
    backtests). A level may be left out only when each of its series is a single item (the
    item quantiles are then its own), or with ``sum_item_quantiles=True``, an approximation
    that typically gives intervals too wide.

    Args:
        train, test, products, prices: as for :func:`wrmsse`.
        quantile_forecast: item level ``unique_id, ds`` and ``<model>-q-<level>`` columns.
        model: model alias of the quantile columns.
        quantiles: quantile levels to score, each in (0, 1).
        level_forecasts: per level name (not ``item``), the aggregated quantile forecasts with
            the level's series ids in ``unique_id`` (see :func:`aggregate_to_level`).
        sum_item_quantiles: score levels missing from ``level_forecasts`` on summed item
            quantiles instead of refusing them.

    Raises:
        ValueError: as for :func:`wrmsse`; unknown levels, bad quantile levels, or an
            aggregate level without its own forecasts.
    """
    qs = [float(q) for q in quantiles]
    if not qs or not all(0 < q < 1 for q in qs):
        raise ValueError(f"quantiles must be a non-empty list of levels in (0, 1); got {qs}")
    given = dict(level_forecasts or {})
    unknown = [k for k in given if k not in LEVELS or k == "item"]
    if unknown:
        raise ValueError(
            f"level_forecasts: unknown level(s) {unknown}; use {list(LEVELS[:-1])} "
            "(item forecasts go in quantile_forecast)"
        )
    qcols = [quantile_column(model, q) for q in qs]
    levels, keys = _prepare(train, test, products, prices, absolute=True)
    fc = _align(keys, quantile_forecast, qcols, "quantile_forecast")
    n_items = len(levels["item"].ids)
    missing = [name for name, lv in levels.items()
               if name != "item" and name not in given and len(lv.ids) != n_items]
    if missing and not sum_item_quantiles:
        raise DataValidationError(
            f"spl: no quantile forecasts of their own for level(s) {missing}; M5 scores each "
            "level on its own quantiles: pass level_forecasts (or sum_item_quantiles=True for "
            "the summed-item approximation, which over-widens the intervals)"
        )
    scores = {}
    for name, lv in levels.items():
        if name in given:
            lv_keys = pd.MultiIndex.from_product([lv.ids, lv.dates], names=["unique_id", "ds"])
            agg = _align(lv_keys.to_frame(index=False), given[name], qcols,
                         f"level_forecasts[{name!r}]")
        else:
            agg = aggregate_to_level(fc, products, name, qcols)
        use = lv.weight > 0
        loss = np.zeros(int(use.sum()))
        for col, q in zip(qcols, qs, strict=True):
            pred = _matrix(agg, col, lv.ids, lv.dates)[use]
            loss += pinball(lv.y[use], pred, q).mean(axis=1)
        loss /= len(qs)
        scores[name] = float(np.sum(lv.weight[use] * loss / lv.scale[use]))
    return WRMSSEResult(float(np.mean(list(scores.values()))), scores)


def level_weights(
    train: pd.DataFrame,
    test: pd.DataFrame,
    products: pd.DataFrame,
    *,
    prices: pd.DataFrame | None = None,
    absolute: bool = True,
) -> pd.DataFrame:
    """Per level and series: its M5 ``weight`` and ``scale`` (mean absolute one-step difference
    for SPL, squared with ``absolute=False`` for WRMSSE), and ``loss_weight`` = weight / scale
    (0 where the weight is 0), which turns a series' mean loss into its share of the level's
    score. Columns ``level, unique_id, weight, scale, loss_weight``."""
    levels, _ = _prepare(train, test, products, prices, absolute=absolute)
    rows = []
    for name, lv in levels.items():
        ratio = np.divide(lv.weight, lv.scale, out=np.zeros(len(lv.ids)), where=lv.weight > 0)
        rows.append(pd.DataFrame({"level": name, "unique_id": lv.ids, "weight": lv.weight,
                                  "scale": lv.scale, "loss_weight": ratio}))
    return pd.concat(rows, ignore_index=True)


def _prepare(
    train: pd.DataFrame,
    test: pd.DataFrame,
    products: pd.DataFrame,
    prices: pd.DataFrame | None,
    *,
    absolute: bool,
) -> tuple[dict[str, _Level], pd.DataFrame]:
    """Validate inputs; per level the actuals, scales and weights. Also the test keys."""
    _require_columns(products, ["unique_id", "category", "department"], "products")
    _require_columns(train, ["unique_id", "ds", "y"], "train")
    _require_columns(test, ["unique_id", "ds", "y"], "test")
    dup = products["unique_id"][products["unique_id"].duplicated()]
    if len(dup):
        raise DataValidationError(f"products: unique_id repeated: {_few(dup.unique())}")
    for name, df in (("train", train), ("test", test)):
        bad = df["y"].isna()
        if bad.any():
            raise DataValidationError(
                f"{name}: y is NaN for {int(bad.sum())} row(s): {_pairs(df[bad])}"
            )

    keys = test[["unique_id", "ds"]].sort_values(["unique_id", "ds"], ignore_index=True)
    if keys.duplicated().any():
        raise DataValidationError(f"test: repeated (unique_id, ds): {_pairs(keys[keys.duplicated()])}")
    test_ids, test_dates = pd.Index(keys["unique_id"].unique()), pd.Index(keys["ds"].unique()).sort_values()
    if len(keys) != len(test_ids) * len(test_dates):
        # every series must be scored over the same days, as in M5
        counts = keys.groupby("unique_id").size()
        short = counts.index[counts < len(test_dates)]
        raise DataValidationError(
            f"test: series {_few(short)} lack some of the {len(test_dates)} test dates"
        )

    t_rows, train_ids = pd.factorize(train["unique_id"], sort=True)
    t_cols, train_dates = pd.factorize(train["ds"], sort=True)
    missing, extra = test_ids.difference(train_ids), pd.Index(train_ids).difference(test_ids)
    if len(missing) or len(extra):
        raise DataValidationError(
            "train and test must hold the same series; "
            f"only in test: {_few(missing)}; only in train: {_few(extra)}"
        )
    if test_dates[0] <= train_dates[-1]:
        raise DataValidationError(
            f"test starts on {_day(test_dates[0])}, not after the last training day "
            f"{_day(train_dates[-1])}"
        )
    flat = t_rows.astype(np.int64) * len(train_dates) + t_cols
    if np.bincount(flat, minlength=len(train_ids) * len(train_dates)).max() > 1:
        raise DataValidationError(f"train: repeated (unique_id, ds): "
                                  f"{_pairs(train[train.duplicated(['unique_id', 'ds'])])}")
    history = np.zeros((len(train_ids), len(train_dates)))
    history[t_rows, t_cols] = train["y"].to_numpy(dtype=float)

    revenue = _recent_revenue(train, prices, train_dates[-WEIGHT_DAYS:])
    test_y = test.sort_values(["unique_id", "ds"])

    levels = {}
    for name in LEVELS:
        y_agg = aggregate_to_level(test_y, products, name, ["y"])
        ids = pd.Index(y_agg["unique_id"].unique())
        level_keys = _level_keys(products, pd.Index(train_ids), name)
        hist = pd.DataFrame(history).groupby(level_keys, sort=True).sum().reindex(ids)
        scale = _scale(hist.to_numpy(), absolute=absolute)
        rev = aggregate_to_level(revenue, products, name, ["revenue"])
        rev = rev.groupby("unique_id")["revenue"].sum().reindex(ids, fill_value=0.0)
        total = rev.sum()
        if not total > 0:
            raise DataValidationError(
                f"no dollar sales in the last {WEIGHT_DAYS} training days; M5 weights need them"
            )
        weight = (rev / total).to_numpy()
        bad = (weight > 0) & ~(scale > 0)
        if bad.any():
            raise DataValidationError(
                f"level {name!r}: series {_few(ids[bad])} sold in the last {WEIGHT_DAYS} "
                "training days but have a zero or undefined scale (constant or single-point "
                "history since the first sale); the scaled error is not defined"
            )
        levels[name] = _Level(ids, test_dates, _matrix(y_agg, "y", ids, test_dates), scale, weight)
    return levels, keys


def _scale(history: np.ndarray, *, absolute: bool) -> np.ndarray:
    """Mean squared (or absolute) one-step difference from each row's first non-zero value."""
    nonzero = history != 0
    first = np.where(nonzero.any(axis=1), nonzero.argmax(axis=1), history.shape[1])
    diff = np.diff(history, axis=1)
    diff = np.abs(diff) if absolute else diff**2
    active = np.arange(diff.shape[1])[None, :] >= first[:, None]
    n = active.sum(axis=1)
    total = np.where(active, diff, 0.0).sum(axis=1)
    # fewer than two points since the first sale: no difference, so no scale
    return np.divide(total, n, out=np.full(len(n), np.nan), where=n > 0)


def _recent_revenue(
    train: pd.DataFrame, prices: pd.DataFrame | None, days: pd.Index
) -> pd.DataFrame:
    """Units x price per item and day over ``days``; a missing price means no revenue."""
    recent = train.loc[train["ds"].isin(days), ["unique_id", "ds", "y"]]
    if prices is not None:
        _require_columns(prices, ["unique_id", "ds", "price"], "prices")
        p = prices[["unique_id", "ds", "price"]]
        if p.duplicated(["unique_id", "ds"]).any():
            raise DataValidationError(
                f"prices: repeated (unique_id, ds): {_pairs(p[p.duplicated(['unique_id', 'ds'])])}"
            )
        recent = recent.merge(p, on=["unique_id", "ds"], how="left")
        price = recent["price"]
    elif "price" in train.columns:
        price = train.loc[recent.index, "price"]
    else:
        raise DataValidationError(
            "M5 weights are dollar sales: give train a 'price' column or pass prices="
        )
    revenue = recent["y"].to_numpy(dtype=float) * price.fillna(0.0).to_numpy(dtype=float)
    return recent[["unique_id", "ds"]].assign(revenue=revenue)


def _level_keys(products: pd.DataFrame, ids: pd.Index, level: str) -> np.ndarray:
    """The level's series id of each item in ``ids``."""
    if level not in LEVEL_COLUMNS:
        raise ValueError(f"unknown level {level!r}; M5 levels for one store are {list(LEVELS)}")
    prod = products.drop_duplicates("unique_id").set_index("unique_id")
    unknown = ids.difference(prod.index)
    if len(unknown):
        raise DataValidationError(f"products: no row for series {_few(unknown)}")
    rows = prod.reindex(ids)
    col = LEVEL_COLUMNS[level]
    if col == "unique_id":
        return ids.to_numpy(dtype=object)
    if col is None:
        stores = rows["store"].dropna().unique() if "store" in rows.columns else []
        if len(stores) > 1:
            raise DataValidationError(
                f"products: series span stores {_few(sorted(stores))}; these levels are for "
                "one store, evaluate each store on its own"
            )
        return np.full(len(ids), str(stores[0]) if len(stores) else TOTAL_ID, dtype=object)
    if rows[col].isna().any():
        raise DataValidationError(
            f"products: no {col} for series {_few(ids[rows[col].isna().to_numpy()])}"
        )
    return rows[col].astype(str).to_numpy(dtype=object)


def _align(keys: pd.DataFrame, forecast: pd.DataFrame, cols: list[str], name: str) -> pd.DataFrame:
    """``forecast`` values on exactly the (unique_id, ds) ``keys``; raise on gaps or NaNs."""
    _require_columns(forecast, ["unique_id", "ds", *cols], name)
    fc = forecast[["unique_id", "ds", *cols]]
    dup = fc.duplicated(["unique_id", "ds"])
    if dup.any():
        raise DataValidationError(f"{name}: repeated (unique_id, ds): {_pairs(fc[dup])}")
    out = keys.merge(fc, on=["unique_id", "ds"], how="left", indicator=True)
    gone = out["_merge"] == "left_only"
    if gone.any():
        raise DataValidationError(
            f"{name}: no row for {int(gone.sum())} (unique_id, ds) of test; "
            f"series {_few(out.loc[gone, 'unique_id'].unique())}: {_pairs(out[gone])}"
        )
    nan = out[cols].isna().any(axis=1)
    if nan.any():
        bad = [c for c in cols if out[c].isna().any()]
        raise DataValidationError(
            f"{name}: NaN in {bad} for {int(nan.sum())} row(s); "
            f"series {_few(out.loc[nan, 'unique_id'].unique())}: {_pairs(out[nan])}"
        )
    return out.drop(columns="_merge")


def _matrix(df: pd.DataFrame, col: str, ids: pd.Index, dates: pd.Index) -> np.ndarray:
    """Series x date array of ``col`` in the given order."""
    wide = df.pivot(index="unique_id", columns="ds", values=col)
    return wide.reindex(index=ids, columns=dates).to_numpy(dtype=float)


def _require_columns(df: pd.DataFrame, cols: list[str], name: str) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise DataValidationError(
            f"{name}: missing column(s) {missing}; it has {list(df.columns)[:12]}"
        )


def _day(value: object) -> str:
    ts = pd.Timestamp(value) if isinstance(value, np.datetime64 | pd.Timestamp) else None
    return str(ts.date()) if ts is not None and ts == ts.normalize() else str(value)


def _pairs(df: pd.DataFrame, limit: int = 5) -> str:
    pairs = [f"{u} on {_day(d)}" for u, d in df[["unique_id", "ds"]].head(limit).itertuples(index=False)]
    more = f" (+{len(df) - limit} more)" if len(df) > limit else ""
    return ", ".join(pairs) + more


def _few(values: Iterable[object], limit: int = 10) -> str:
    items = [str(v) for v in values]
    more = f" (+{len(items) - limit} more)" if len(items) > limit else ""
    return f"{items[:limit]}{more}"
