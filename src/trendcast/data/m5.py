"""Read the M5 competition layout as it is (one store or many) into trendcast frames.

Expected in the folder: ``sales_train_evaluation*.csv[.gz]`` (or ``sales_train_validation``),
``sell_prices*.csv[.gz]`` and ``calendar.csv``. Daily prices come from the weekly price file
through the calendar's Walmart week; days an item was not on sale have no price.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from trendcast.data.validation import validate
from trendcast.errors import DataValidationError, InputFileError

HIERARCHY = ["item_id", "dept_id", "cat_id", "store_id", "state_id"]


@dataclass(frozen=True)
class M5Data:
    """The M5 files as trendcast frames."""

    products: pd.DataFrame
    sales: pd.DataFrame
    calendar: pd.DataFrame
    files: dict[str, Path]


def find_m5_files(folder: str | Path) -> dict[str, Path]:
    """Locate the sales, prices and calendar files of an M5 folder."""
    root = Path(folder)
    if not root.is_dir():
        raise InputFileError(f"{root}: not a folder; --format m5 takes the folder of M5 files")
    patterns = {
        "sales": ["sales_train_evaluation*.csv*", "sales_train_validation*.csv*"],
        "prices": ["sell_prices*.csv*"],
        "calendar": ["calendar*.csv*"],
    }
    found: dict[str, Path] = {}
    for key, globs in patterns.items():
        for pattern in globs:
            hits = sorted(root.glob(pattern))
            if hits:
                found[key] = hits[0]
                break
        else:
            raise InputFileError(
                f"{root}: no {key} file; an M5 folder holds {', '.join(p[0] for p in patterns.values())}"
            )
    return found


def read_m5(folder: str | Path) -> M5Data:
    """Read an M5 folder into validated products, sales (with price) and calendar frames."""
    files = find_m5_files(folder)
    wide = pd.read_csv(files["sales"])
    _check_columns(wide, ["id", *HIERARCHY], files["sales"])
    day_cols = [c for c in wide.columns if c.startswith("d_")]
    if not day_cols:
        raise DataValidationError(f"{files['sales']}: no day columns d_1, d_2, ...")
    _check_numeric(wide, day_cols, files["sales"])

    cal = pd.read_csv(files["calendar"])
    _check_columns(cal, ["date", "wm_yr_wk", "d"], files["calendar"])
    cal["date"] = pd.to_datetime(cal["date"], format="%Y-%m-%d", errors="coerce")
    if cal["date"].isna().any():
        row = int(np.flatnonzero(cal["date"].isna().to_numpy())[0]) + 1
        raise DataValidationError(
            f"{files['calendar']}: row {row} (line {row + 1}), column 'date': not a date "
            "like 2016-05-22"
        )
    day_index = cal.set_index("d")
    missing_days = [d for d in day_cols if d not in day_index.index]
    if missing_days:
        raise DataValidationError(
            f"{files['sales']}: day column {missing_days[0]!r} is not in {files['calendar']}"
        )
    dates = day_index.loc[day_cols, "date"].to_numpy()
    weeks = day_index.loc[day_cols, "wm_yr_wk"].to_numpy()

    ids = (wide["item_id"] + "_" + wide["store_id"]).to_numpy()
    n_series, n_days = len(wide), len(day_cols)
    y = wide[day_cols].to_numpy(dtype="float64")
    price = _daily_prices(files["prices"], wide, weeks)
    sales = pd.DataFrame(
        {
            "unique_id": np.repeat(ids, n_days),
            "ds": np.tile(dates, n_series),
            "y": y.ravel(),
            "price": price.ravel(),
            "promo": np.nan,
        }
    )
    sales = validate(sales, "sales", source=str(files["sales"]))

    launch = _launch_dates(price, y, dates)
    list_price = pd.DataFrame(price.T).mode(axis=0, dropna=True)
    list_price = list_price.iloc[0].to_numpy() if len(list_price) else np.full(n_series, np.nan)
    products = pd.DataFrame(
        {
            "unique_id": ids,
            "title": wide["item_id"].to_numpy(),
            "category": wide["cat_id"].to_numpy(),
            "department": wide["dept_id"].to_numpy(),
            "brand": None,
            "store": wide["store_id"].to_numpy(),
            "launch_date": launch,
            "list_price": list_price,
        }
    )
    products = validate(products, "products", source=str(files["sales"]))
    states = sorted(wide["state_id"].unique())
    calendar = validate(m5_calendar_events(cal, states), "calendar", source=str(files["calendar"]))
    return M5Data(products, sales, calendar, files)


def _check_columns(df: pd.DataFrame, required: list[str], path: Path) -> None:
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise DataValidationError(
            f"{path}: missing column(s) {missing}; the file has {list(df.columns)[:12]}..."
        )


def _check_numeric(wide: pd.DataFrame, day_cols: list[str], path: Path) -> None:
    for col in day_cols:
        values = wide[col]
        if not pd.api.types.is_numeric_dtype(values):
            parsed = pd.to_numeric(values, errors="coerce")
            bad = np.flatnonzero((parsed.isna() & values.notna()).to_numpy())
            row = int(bad[0]) + 1 if len(bad) else 1
            value = values.iloc[row - 1]
            raise DataValidationError(
                f"{path}: row {row} (line {row + 1}), column {col!r}: got {value!r}, "
                "expected a number >= 0"
            )
        neg = np.flatnonzero((values < 0).to_numpy())
        if len(neg):
            row = int(neg[0]) + 1
            raise DataValidationError(
                f"{path}: row {row} (line {row + 1}), column {col!r}: got {values.iloc[row - 1]!r}, "
                "expected a number >= 0"
            )


def _daily_prices(path: Path, wide: pd.DataFrame, weeks: np.ndarray) -> np.ndarray:
    """(series x day) matrix of sell prices, NaN where the item was not on sale."""
    prices = pd.read_csv(path)
    _check_columns(prices, ["store_id", "item_id", "wm_yr_wk", "sell_price"], path)
    key = wide["item_id"] + "_" + wide["store_id"]
    prices["key"] = prices["item_id"] + "_" + prices["store_id"]
    prices = prices[prices["key"].isin(set(key))]
    table = prices.pivot_table(index="key", columns="wm_yr_wk", values="sell_price",
                               aggfunc="last")
    table = table.reindex(index=key.to_numpy())
    week_pos = pd.Index(table.columns).get_indexer(weeks)
    matrix = table.to_numpy(dtype="float64")
    out = np.full((len(wide), len(weeks)), np.nan)
    ok = week_pos >= 0
    out[:, ok] = matrix[:, week_pos[ok]]
    return out


def _launch_dates(price: np.ndarray, y: np.ndarray, dates: np.ndarray) -> np.ndarray:
    """First day with a price or a sale."""
    active = ~np.isnan(price) | (y > 0)
    first = np.where(active.any(axis=1), active.argmax(axis=1), 0)
    return pd.to_datetime(dates[first]).to_numpy()


def m5_calendar_events(cal: pd.DataFrame, states: list[str]) -> pd.DataFrame:
    """M5 events (sporting, cultural, national, religious) and SNAP days as calendar rows."""
    frames = []
    for i in (1, 2):
        name, kind = f"event_name_{i}", f"event_type_{i}"
        if name in cal.columns:
            ev = cal.loc[cal[name].notna(), ["date", name, kind]]
            frames.append(pd.DataFrame({
                "ds": ev["date"], "name": ev[name], "kind": ev[kind].str.lower(),
                "region": "US", "source": "m5",
            }))
    for state in states:
        col = f"snap_{state}"
        if col in cal.columns:
            snap = cal.loc[cal[col] == 1, "date"]
            frames.append(pd.DataFrame({
                "ds": snap, "name": f"SNAP_{state}", "kind": "snap",
                "region": f"US-{state}", "source": "m5",
            }))
    if not frames:
        return pd.DataFrame(columns=["ds", "name", "kind", "region", "source"])
    return pd.concat(frames, ignore_index=True).sort_values(["ds", "name"], ignore_index=True)
