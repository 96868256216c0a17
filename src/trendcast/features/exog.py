"""Covariates for models that use them: price and promotion from the sales rows, calendar
flags from the calendar events, and the product hierarchy as static columns. Frames in,
frames out: the caller reads them from the workspace (or a run's snapshot)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from trendcast.errors import DataValidationError
from trendcast.features.calendar import event_features
from trendcast.features.frequency import period_labels

STATIC = ("category", "department")
UNKNOWN_GROUP = "unknown"  # the category / department of a product the catalogue gives none


def add_covariates(series: pd.DataFrame, *, sales: pd.DataFrame, calendar: pd.DataFrame,
                   products: pd.DataFrame, horizon: int = 0,
                   macro: pd.DataFrame | None = None) -> pd.DataFrame:
    """``series`` (unique_id, ds, y) plus price, promo, calendar flags and hierarchy columns.

    Args:
        series: the gap-free frame (:func:`trendcast.features.series.fill_series`).
        sales: the stored sales rows of these series (``price`` and ``promo`` are used).
        calendar: the calendar events.
        products: catalogue rows (``category``, ``department``).
        horizon: calendar flags are computed this many days past the end, so future rows
            can reuse them.
        macro: external series (``name, ds, value``), added as ``macro_<name>`` columns
            known at forecast time (:func:`add_drivers`).
    """
    ids = set(series["unique_id"].unique())
    extra = sales.loc[sales["unique_id"].isin(ids), ["unique_id", "ds", "price", "promo"]]
    df = series.merge(extra, on=["unique_id", "ds"], how="left")
    df["promo"] = df["promo"].fillna(0.0)
    if df["price"].isna().all():
        df = df.drop(columns="price")
    freq = series.attrs.get("freq", "D")
    if freq == "D":
        end = df["ds"].max() + pd.Timedelta(days=horizon)
        feats = event_features(pd.date_range(df["ds"].min(), end, freq="D"), calendar)
    else:
        feats = period_flags(df["ds"].min(), df["ds"].max(), freq, horizon, calendar)
    df = df.merge(feats, on="ds", how="left")
    df = df.merge(products[["unique_id", *STATIC]], on="unique_id", how="left")
    for col in STATIC:
        df[col] = df[col].fillna(UNKNOWN_GROUP)
    df.attrs.update(series.attrs)
    df.attrs["calendar"] = feats
    macro, keyed_notes = keyed_drivers(macro, products, sorted(ids))
    out = add_drivers(df, macro, horizon=horizon)
    if keyed_notes:
        out.attrs["driver_notes"] = keyed_notes + list(out.attrs.get("driver_notes", []))
    return out


def period_flags(start: pd.Timestamp, end: pd.Timestamp, freq: str, horizon: int,
                 calendar: pd.DataFrame) -> pd.DataFrame:
    """Calendar flags per period of ``freq`` from ``start`` to ``horizon`` periods past ``end``:
    a period carries a flag when any of its days does (a month containing Double 11 is a
    Double 11 month)."""
    offset = pd.tseries.frequencies.to_offset(freq)
    first = offset.rollback(start) - offset if not freq.startswith("W") else start - pd.Timedelta(days=6)
    last = end + (horizon + 1) * offset
    days = pd.date_range(first, last, freq="D")
    daily = event_features(days, calendar)
    daily["ds"] = period_labels(daily["ds"], freq).to_numpy()
    return daily.groupby("ds", as_index=False).max()


def future_covariates(df: pd.DataFrame, horizon: int, freq: str) -> tuple[pd.DataFrame, list[str]]:
    """Future rows for every series: calendar flags as scheduled, price held at its last
    regular (non-promotion) value and no promotion (planned prices and promotions can replace
    them). Returns notes."""
    step = pd.tseries.frequencies.to_offset(freq)
    last = df.groupby("unique_id")["ds"].max()
    future = pd.DataFrame({
        "unique_id": np.repeat(last.index.to_numpy(), horizon),
        "ds": np.concatenate([pd.date_range(d + step, periods=horizon, freq=freq).to_numpy()
                              for d in last.to_numpy()]),
    })
    notes = []
    if "price" in df.columns:
        priced = df.dropna(subset=["price"])
        last_price = priced.groupby("unique_id")["price"].last()
        if "promo" in priced.columns:  # a promotion price would otherwise run on for the horizon
            regular = priced[priced["promo"].fillna(0) <= 0].groupby("unique_id")["price"].last()
            last_price = regular.combine_first(last_price)
        future["price"] = future["unique_id"].map(last_price)
        notes.append("future prices held at each product's last regular (non-promotion) price")
    if "promo" in df.columns:
        future["promo"] = 0.0
        notes.append("no promotions assumed in the forecast horizon")
    feats = df.attrs.get("calendar")
    if feats is not None:
        future = future.merge(feats, on="ds", how="left")
        cal_cols = [c for c in feats.columns if c != "ds"]
        future[cal_cols] = future[cal_cols].fillna(0.0)
    future = future_drivers(future, df)
    notes += df.attrs.get("driver_notes", [])
    return future, notes


# External drivers (macro and other outside series) -----------------------------------------

DRIVER_PREFIX = "macro_"


def driver_columns(columns: Sequence[str]) -> list[str]:
    """The external-driver columns among ``columns`` (named ``macro_<name>``)."""
    return [c for c in columns if str(c).startswith(DRIVER_PREFIX)]


def driver_column(name: str) -> str:
    """The covariate column of the external series ``name``: ``macro_`` and the name with
    every run of non-alphanumeric characters as one underscore."""
    slug = re.sub(r"[^0-9A-Za-z]+", "_", str(name)).strip("_").lower()
    return DRIVER_PREFIX + (slug or "series")


def driver_features(macro: pd.DataFrame, *, freq: str, start: pd.Timestamp, end: pd.Timestamp,
                    horizon: int, publication_lag_days: int = 0) -> tuple[pd.DataFrame, list[str]]:
    """External series (``name, ds, value``, optionally ``unique_id`` for series-specific
    ones) as covariate columns ``macro_<name>`` on the run's periods from ``start`` to
    ``horizon`` periods past ``end``, each value known when its period is forecast.

    A value dated ``ds`` is taken as published when its own period is over (a monthly index
    of March on 1 April, a daily oil price the next day) plus ``publication_lag_days``. A
    series whose stored values stop before the forecast ends is **lagged**: the period ``t``
    gets the last value published by the end of period ``t - horizon``, so every value a
    forecast (or a backtest window of ``horizon`` periods) uses was known at its cutoff. A
    series stored beyond the horizon (a plan or a published forecast, as a scenario gives) is
    used as given: period ``t`` gets the value of the period containing it.

    Returns the frame (``ds`` [, ``unique_id``] and the columns; ``attrs["drivers"]`` maps each
    column to ``name``, ``mode`` (``lagged``/``given``) and ``lag_periods``) and notes.
    """
    need = [c for c in ("name", "ds", "value") if c not in macro.columns]
    if need:
        raise DataValidationError(f"external series need columns name, ds, value; missing {need} "
                                  f"(columns are {list(macro.columns)})")
    offset = pd.tseries.frequencies.to_offset(freq)
    labels = pd.date_range(offset.rollback(start) if freq != "D" else start,
                           end + horizon * offset, freq=freq)
    period_end = _period_ends(labels, freq)
    known_at = _period_ends(labels - horizon * offset, freq)  # end of the cutoff's period
    data = macro.dropna(subset=["value"]).assign(ds=lambda d: pd.to_datetime(d["ds"]))
    by = ["unique_id"] if "unique_id" in data.columns else []
    if by:
        data["unique_id"] = data["unique_id"].astype(str)
        keys = data[["unique_id"]].drop_duplicates()
        grid = keys.merge(pd.DataFrame({"ds": labels, "_end": period_end, "_known": known_at}),
                          how="cross")
    else:
        grid = pd.DataFrame({"ds": labels, "_end": period_end, "_known": known_at})
    out = grid[[*by, "ds"]].copy()
    info: dict[str, dict[str, Any]] = {}
    notes: list[str] = []
    for name, rows in data.groupby("name", sort=True):
        col = driver_column(str(name))
        if col in info:
            raise DataValidationError(f"external series {name!r} and {info[col]['name']!r} both "
                                      f"become column {col!r}; rename one")
        rows = rows.sort_values("ds")
        step = _own_step(rows["ds"])
        rows = rows.assign(_pub=(rows["ds"] + step) + pd.Timedelta(days=publication_lag_days))
        given = bool((rows["ds"] + step).max() > period_end[-1])
        on, key = ("_end", "ds") if given else ("_known", "_pub")
        left = grid.sort_values(on).reset_index()
        right = rows[[*by, key, "value"]].sort_values(key)
        if key == "ds":
            right = right.rename(columns={"ds": "_ds"})
            key = "_ds"
        merged = pd.merge_asof(left, right, left_on=on, right_on=key, by=by or None,
                               direction="backward")
        out[col] = merged.set_index("index")["value"].reindex(grid.index).to_numpy(dtype=float)
        info[col] = {"name": str(name), "mode": "given" if given else "lagged",
                     "lag_periods": 0 if given else int(horizon)}
        future = out.loc[out["ds"] > end, col]
        if future.isna().any():
            out = out.drop(columns=col)
            del info[col]
            notes.append(f"external series {name!r} left out: nothing of it was published before "
                         f"the forecast's first period")
    for col, meta in info.items():
        how = ("as given for the horizon (stored beyond it)" if meta["mode"] == "given" else
               f"lagged {horizon} period(s) so each value was published at the forecast's cutoff")
        notes.append(f"external driver {meta['name']!r} ({col}) {how}")
    out.attrs["drivers"] = info
    return out, notes


# catalogue columns a keyed external series (INDICATOR:KEY) can name, in order of preference
KEY_COLUMNS = ("store", "unique_id", "department", "category", "brand")


def _key_values(values: pd.Series) -> pd.Series:
    text = values.astype("string").str.strip()
    return text.str.replace(r"^(\d+)\.0$", r"\1", regex=True).astype(object)


def keyed_drivers(macro: pd.DataFrame | None, products: pd.DataFrame | None,
                  ids: Sequence[str]) -> tuple[pd.DataFrame | None, list[str]]:
    """External series named ``INDICATOR:KEY`` (a wide macro table ingested with ``--map
    name=Store`` gives ``Temperature:1``, ...) as one series ``INDICATOR`` per product: the
    rows of KEY go to the products whose catalogue ``store`` (else unique_id, department,
    category or brand: the column that holds the most keys) is KEY. Other names stay global
    (then given to every product too). An indicator that some of ``ids`` have no key for is
    left out (a note says so): a product's driver is its own, never another store's."""
    if macro is None or macro.empty or "unique_id" in macro.columns or products is None \
            or products.empty or not len(ids):
        return macro, []
    names = macro["name"].astype(str)
    parts = names.str.rpartition(":")
    keyed = ((parts[1] == ":") & (parts[0].str.strip() != "") & (parts[2].str.strip() != "")).to_numpy()
    if not keyed.any():
        return macro, []
    keys = set(parts[2][keyed].str.strip())
    catalogue = products[products["unique_id"].astype(str).isin(set(map(str, ids)))]
    best, matched = None, 0
    for col in KEY_COLUMNS:
        if col in catalogue.columns:
            n = int(_key_values(catalogue[col]).isin(keys).sum())
            if n > matched:
                best, matched = col, n
    indicators = sorted(set(parts[0][keyed].str.strip()))
    shown = ", ".join(indicators[:5]) + (" ..." if len(indicators) > 5 else "")
    if best is None:
        return macro, [f"external series named INDICATOR:KEY ({shown}) match no product's store, "
                       "department, category, brand or id: each used as one series for every "
                       "product (ingest the catalogue with --map store=... to give each product "
                       "its own)"]
    owners = pd.DataFrame({"unique_id": catalogue["unique_id"].astype(str).to_numpy(),
                           "_key": _key_values(catalogue[best]).to_numpy()})
    rows = pd.DataFrame({"name": parts[0][keyed].str.strip().to_numpy(),
                         "_key": parts[2][keyed].str.strip().to_numpy(),
                         "ds": macro["ds"].to_numpy()[keyed], "value": macro["value"].to_numpy()[keyed]})
    per = rows.merge(owners, on="_key")[["unique_id", "name", "ds", "value"]]
    covered = per.groupby("name")["unique_id"].nunique()
    full = sorted(covered.index[covered == len(ids)])
    notes = [f"external series {shown} given per product by its {best} ({len(indicators)} "
             f"indicator(s) x {len(keys)} key(s), named INDICATOR:KEY)"]
    partial = [n for n in indicators if n not in full]
    if partial:
        lacking = len(ids) - int(covered.reindex(partial).fillna(0).min())
        notes.append(f"external series {', '.join(partial[:5])} left out here: {lacking:,} of "
                     f"{len(ids):,} products have no {best} among its keys")
    per = per[per["name"].isin(full)]
    plain = macro.loc[~keyed, ["name", "ds", "value"]]
    if len(plain):
        plain = plain.merge(pd.DataFrame({"unique_id": [str(i) for i in ids]}), how="cross")
    out = pd.concat([per, plain[["unique_id", "name", "ds", "value"]]] if len(plain) else [per],
                    ignore_index=True)
    return out, notes


def add_drivers(df: pd.DataFrame, macro: pd.DataFrame | None, *, horizon: int,
                publication_lag_days: int = 0) -> pd.DataFrame:
    """``df`` (a covariate frame) with the external series of ``macro`` as ``macro_<name>``
    columns (:func:`driver_features`); ``attrs["drivers"]`` keeps the aligned frame for the
    forecast horizon, ``attrs["driver_notes"]`` what was done."""
    if macro is None or macro.empty or df.empty:
        return df
    freq = df.attrs.get("freq", "D")
    feats, notes = driver_features(macro, freq=freq, start=df["ds"].min(), end=df["ds"].max(),
                                   horizon=horizon, publication_lag_days=publication_lag_days)
    cols = driver_columns(feats.columns)
    if not cols:
        return df
    keys = ["unique_id", "ds"] if "unique_id" in feats.columns else ["ds"]
    if "unique_id" in feats.columns:
        feats = feats.assign(unique_id=feats["unique_id"].astype(str))
    attrs = dict(df.attrs)
    out = df.merge(feats, on=keys, how="left")
    out.attrs.update(attrs)
    out.attrs["drivers"] = feats
    out.attrs["driver_info"] = feats.attrs.get("drivers", {})
    out.attrs["driver_notes"] = notes
    return out


def future_drivers(future: pd.DataFrame, df: pd.DataFrame) -> pd.DataFrame:
    """``future`` rows (``unique_id, ds``) with the driver columns ``add_drivers`` aligned."""
    feats = df.attrs.get("drivers")
    if feats is None:
        return future
    keys = ["unique_id", "ds"] if "unique_id" in feats.columns else ["ds"]
    return future.merge(feats, on=keys, how="left")


def _period_ends(labels: pd.DatetimeIndex, freq: str) -> pd.DatetimeIndex:
    """The last day of each period labelled ``labels`` (a start-anchored label's period runs
    to the day before the next label)."""
    if freq == "D" or freq.startswith("W") or freq[1:2] == "E":
        return labels
    offset = pd.tseries.frequencies.to_offset(freq)
    return labels + offset - pd.Timedelta(days=1)


def _own_step(ds: pd.Series) -> pd.DateOffset | pd.Timedelta:
    """One period of an external series, from the typical gap between its dates: a month
    (or quarter, year) as a calendar offset, else that many days."""
    gaps = ds.drop_duplicates().diff().dropna().dt.days
    days = int(gaps.median()) if len(gaps) else 1
    if days >= 360:
        return pd.DateOffset(years=1)
    if days >= 89:
        return pd.DateOffset(months=3)
    if days >= 28:
        return pd.DateOffset(months=1)
    return pd.Timedelta(days=max(days, 1))
