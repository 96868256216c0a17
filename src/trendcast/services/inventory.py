"""Inventory actions from the stored forecast run: what to order now, and which products are
about to run out (see ``trendcast.insights.inventory`` for the method)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from trendcast.data.store import Store
from trendcast.errors import DataValidationError, InputFileError, ModelError, NotFoundError
from trendcast.features.frequency import describe, infer_freq, period_days
from trendcast.insights.inventory import (
    PRODUCT_INPUTS,
    InventoryDefaults,
    PeriodCalendar,
    inventory_policy,
    quantile_levels,
)
from trendcast.insights.periods import unit_of
from trendcast.services.forecast import read_run
from trendcast.services.ingest import restore_id_forms

STOCK_COLUMNS = tuple(c for c in PRODUCT_INPUTS if c != "price")


@dataclass
class InventoryResult:
    """Per-product policy (most urgent first), the run and model it used, and what was assumed."""

    run_id: str
    model: str
    table: pd.DataFrame
    assumptions: dict[str, object]
    notes: list[str] = field(default_factory=list)

    def as_dict(self, top: int | None = None) -> dict[str, object]:
        table = self.table if top is None else self.table.head(top)
        return {"run_id": self.run_id, "model": self.model, "assumptions": self.assumptions,
                "notes": self.notes, "products": records(table)}


# What warehouse and ERP exports call the stock file's columns (case and spaces aside).
STOCK_ALIASES = {
    "unique_id": ("sku", "product", "product_id", "item", "item_id", "商品", "商品编码", "商品id",
                  "货号", "sku编码", "商家编码"),
    "on_hand": ("stock", "qty_on_hand", "quantity_on_hand", "on hand", "inventory", "available",
                "库存", "库存数量", "现有库存", "可用库存", "实际库存"),
    "on_order": ("on order", "open_orders", "incoming", "在途", "在途数量", "在途库存", "已订未到"),
    "lead_time_days": ("lead_time", "lead time", "交货期", "补货周期", "采购周期", "到货天数"),
    "review_days": ("review", "review period", "盘点周期", "订货周期"),
    "unit_cost": ("cost", "unit cost", "成本", "单位成本", "进价", "采购价"),
}
_GROUPED = re.compile(r"^\d{1,3}(?:,\d{3})+(?:\.\d+)?$")


def _stock_names(df: pd.DataFrame, notes: list[str]) -> pd.DataFrame:
    """The columns renamed to trendcast's names where an export calls them otherwise, noted."""
    lookup = {alias.lower(): name for name, aliases in STOCK_ALIASES.items() for alias in aliases}
    present = {str(c).strip().lower() for c in df.columns}
    renames = {}
    for col in df.columns:
        key = str(col).strip().lower()
        name = key if key in (("unique_id",) + STOCK_COLUMNS) else lookup.get(key)
        if name is not None and name != col and name not in present and name not in renames.values():
            renames[col] = name
    if renames:
        notes.append("stock file columns read as: " + ", ".join(f"{k} as {v}" for k, v in renames.items()))
    return df.rename(columns=renames)


def read_stock(path: str | Path) -> pd.DataFrame:
    """A stock file: ``unique_id, on_hand`` and optionally on_order, lead_time_days,
    review_days, unit_cost, holding_cost_rate (CSV, Excel or Parquet). An export's own names
    (``SKU``, ``库存``, ``在途``: :data:`STOCK_ALIASES`), subtotal lines (``合计``), zeros shown as
    ``-`` and thousands separators (``1,234``) are read, each noted in ``attrs['notes']``."""
    from trendcast.data.ingest import is_sum_word
    from trendcast.data.readers import read_frame
    from trendcast.data.validation import DASH_ZERO

    path = Path(path)
    if not path.exists():
        raise InputFileError(f"stock file {path} does not exist")
    # read as the ingest reads files: ids stay text ('007' is not 7), separators and encodings
    # are detected, empty rows skipped
    df = read_frame(path)
    notes: list[str] = []
    df = _stock_names(df, notes)
    rows = df.attrs.get("_rows")
    missing = [c for c in ("unique_id", "on_hand") if c not in df.columns]
    if missing:
        optional = ",".join(c for c in STOCK_COLUMNS if c != "on_hand")
        raise DataValidationError(f"{path}: missing column(s) {missing}; a stock file has "
                                  f"unique_id,on_hand[,{optional}]")
    df["unique_id"] = df["unique_id"].astype(str).str.strip()
    sums = df["unique_id"].map(is_sum_word).to_numpy(dtype=bool)
    if sums.any():
        notes.append(f"{int(sums.sum())} subtotal line(s) of the stock file skipped "
                     f"(e.g. {df['unique_id'][sums].iloc[0]!r})")
        keep = np.flatnonzero(~sums)
        df = df.iloc[keep].reset_index(drop=True)
        rows = tuple(np.asarray(rows)[keep]) if rows is not None else tuple(keep)
    for col in [c for c in STOCK_COLUMNS if c in df.columns]:
        text = df[col].astype("string").str.strip()
        dash = text.str.match(DASH_ZERO).fillna(False).to_numpy(dtype=bool)
        grouped = text.str.match(_GROUPED).fillna(False).to_numpy(dtype=bool)
        if dash.any() or grouped.any():
            notes.append(f"stock file column {col}: " + "; ".join(
                part for part in (f"{int(dash.sum())} value(s) shown as '-' read as 0" if dash.any() else "",
                                  f"{int(grouped.sum())} value(s) with thousands separators read "
                                  "(1,234 as 1234)" if grouped.any() else "") if part))
        text = text.mask(dash, "0").mask(grouped, text.str.replace(",", "", regex=False))
        values = pd.to_numeric(text, errors="coerce")
        bad = (values.isna() & df[col].notna()) | (values < 0)
        if col == "on_hand":
            bad |= values.isna()
        if bad.any():
            pos = int(np.flatnonzero(bad.to_numpy())[0])
            row = int(rows[pos]) if rows is not None else pos
            raise DataValidationError(
                f"{path}: row {row + 1} (line {row + 2}), column {col!r}: got {df[col].iloc[pos]!r}, "
                "expected a number >= 0")
        df[col] = values.astype(float)
    dup = df["unique_id"][df["unique_id"].duplicated()]
    if not dup.empty:
        raise DataValidationError(f"{path}: product {dup.iloc[0]!r} appears more than once; "
                                  "give one row per product")
    ignored = [c for c in df.columns if c not in ("unique_id", *STOCK_COLUMNS)]
    out = df[["unique_id", *[c for c in STOCK_COLUMNS if c in df.columns]]].copy()
    out.attrs = {"ignored_columns": ignored, "notes": notes}
    return out


def latest_prices(store: Store) -> pd.DataFrame:
    """``unique_id, price``: each product's most recent known price in the sales table."""
    return store.last_prices()


def _pick_model(models: list[str], forecasts: pd.DataFrame, model: str | None,
                preferred: str | None = None) -> str:
    with_q = [m for m in models if len(quantile_levels(forecasts, m)) >= 2]
    if model is None and preferred in with_q:
        return str(preferred)
    if model is not None:
        if model not in models:
            raise NotFoundError(f"model {model!r} is not in the run; it has {models}")
        if model not in with_q:
            raise ModelError(f"{model} has no quantile forecasts in this run; rerun `trendcast "
                             f"forecast --model {model} --quantiles 0.05,0.1,0.25,0.5,0.75,0.9,0.95`")
        return model
    if not with_q:
        raise ModelError("the forecast run has no quantile forecasts (inventory needs the spread, "
                         "not only the mean); rerun `trendcast forecast --quantiles "
                         "0.05,0.1,0.25,0.5,0.75,0.9,0.95`")
    return with_q[0]


def _run_freq(store: Store, run_id: str, fc: pd.DataFrame) -> str:
    """The frequency a forecast run was made at (stored with it; else read from its dates)."""
    row = store.run_row(run_id) or {}
    if row.get("freq"):
        return str(row["freq"])
    return infer_freq(fc[["unique_id", "ds"]]) if len(fc) else "D"


def _sold_until(store: Store, last_sale: object) -> pd.Timestamp:
    """The last day the stored sales cover (a week dated by its first day reaches six days
    on); NaT without sales."""
    if last_sale is None or pd.isna(last_sale):
        return pd.NaT
    from trendcast.features.frequency import covered_until
    from trendcast.services.forecast import workspace_freq
    from trendcast.services.open_periods import week_label_of

    stored = workspace_freq(store)
    return pd.Timestamp(covered_until(pd.Timestamp(last_sale), stored, week_label_of(store), target="D"))


def _period_under_way(first_fc: pd.Timestamp, freq: str, sold_until: pd.Timestamp) -> bool:
    """Whether the run's first period (months, quarters, weeks of daily sales) holds the day
    after the latest sales: part of it is sold, the rest still to come."""
    if freq == "D" or pd.isna(sold_until) or pd.isna(first_fc):
        return False
    from trendcast.insights.periods import period_bounds

    begin, end = period_bounds(pd.DatetimeIndex([first_fc]), freq)
    return bool(begin[0] <= sold_until < end[0])


def _splits_days(store: Store, freq: str) -> bool:
    """Whether a run of ``freq`` is split into calendar days (:func:`_calendar`): months and
    quarters always, weeks when the stored sales are daily."""
    from trendcast.services.forecast import workspace_freq

    return freq != "D" and (not freq.startswith("W") or workspace_freq(store) == "D")


def _calendar(store: Store, freq: str, notes: list[str], lead_time: int, review: int
              ) -> PeriodCalendar | None:
    """How a run coarser than daily splits its periods into days: months and quarters by their
    own calendar days, and, where the stored sales are daily, each day weighted by the shop's
    sales on the same date a year before (a November's first two weeks hold Double 11); None
    for a weekly run of weekly sales (seven even days)."""
    from trendcast.services.forecast import workspace_freq

    if not _splits_days(store, freq):
        return None
    daily = workspace_freq(store) == "D"
    weights = None
    if daily:
        totals = store.sales_totals()
        if not totals.empty:
            days = pd.Series(totals["y"].to_numpy(dtype=float), index=pd.DatetimeIndex(totals["ds"]))
            weights = days.clip(lower=0)
            # a week splits by its weekdays (the same weekday 52 weeks before), a month or a
            # quarter by its dates (Double 11 on the 11th)
            weekly = freq.startswith("W")
            weights.index = weights.index + (pd.Timedelta(days=364) if weekly else pd.DateOffset(years=1))
            weights = weights.groupby(level=0).sum()  # Feb 28 and 29 of a leap year on one day
    same = "same weekdays 52 weeks" if freq.startswith("W") else "same dates a year"
    how = (f"weighted by the shop's daily sales on the {same} before (evenly where there are none)"
           if weights is not None else "spread evenly over its days")
    notes.append(f"{describe(freq)} forecasts: lead time {lead_time} d + review {review} d take their "
                 f"share of each period's own days, a period's demand {how}; likewise a stock file's days")
    return PeriodCalendar(freq, weights)


def inventory_actions(
    store: Store,
    *,
    run_id: str | None = None,
    model: str | None = None,
    lead_time: int = 7,
    review: int = 7,
    service_level: float | None = None,
    holding_cost_rate: float = 0.25,
    cost_share: float = 0.6,
    stock: str | Path | pd.DataFrame | None = None,
    method: str = "nbinom",
    calibrate: bool | None = None,
) -> InventoryResult:
    """Order-up-to levels, order quantities and stock-out risks for every forecast product.

    Args:
        store: the workspace.
        run_id: forecast run (default the latest).
        model: model of the run to use (default the run's representative model,
            :func:`trendcast.services.run_choice.representative_model`, when it has quantiles;
            else the first with quantiles).
        lead_time: days from order to delivery, for products the stock file gives none.
        review: days between orders, likewise.
        service_level: target chance of no stock-out per cycle; None derives it from price
            and cost (newsvendor critical fractile).
        holding_cost_rate: yearly holding cost as a share of unit cost.
        cost_share: unit cost as a share of price where the cost is unknown.
        stock: a stock file (see ``read_stock``) or frame; without it there is no order
            quantity and no stock-out risk.
        method: "nbinom" or "sample" (see trendcast.insights.inventory).
        calibrate: order-up-to levels calibrated on the workspace's backtests of the model
            (windows ending before the forecast starts; see
            :mod:`trendcast.services.inventory_calibrate`). None calibrates when such a
            backtest exists and otherwise notes how to get one; True makes a missing one an
            error; False keeps the forecast's own distribution.
    """
    if lead_time < 0 or review < 1:
        raise DataValidationError(f"lead time must be >= 0 and review >= 1 days; got {lead_time}, {review}")
    run = read_run(store, run_id, kind="forecast")
    from trendcast.services.run_choice import representative_model

    preferred = representative_model(store, run.run_id).model if model is None else None
    chosen = _pick_model(run.models, run.forecasts, model, preferred)
    notes: list[str] = []
    if model is None and len(run.models) > 1:
        notes.append(f"used model {chosen} of {', '.join(run.models)} (choose with --model)")
    span = store.sales_span()
    last_sale = span[1] if span else pd.NaT
    first_fc = run.forecasts["ds"].min()
    freq = _run_freq(store, run.run_id, run.forecasts)
    sold_until = _sold_until(store, last_sale)
    # (a weekly run of weekly sales starts after its last stored week: never under way)
    under_way = _period_under_way(first_fc, freq, sold_until) and _splits_days(store, freq)
    if pd.notna(last_sale) and first_fc <= pd.Timestamp(last_sale) and not under_way:
        notes.append(f"run {run.run_id} starts on {first_fc.date()}, not after the latest sales "
                     f"({pd.Timestamp(last_sale).date()}): rerun `trendcast forecast` for current advice")
    elif under_way:
        notes.append(f"the run's first {unit_of(freq).en} ({first_fc.date()}) is under way: sales to "
                     f"{sold_until.date()} are in, so lead time and review count from "
                     f"{(sold_until + pd.Timedelta(days=1)).date()}, with the share of that "
                     f"{unit_of(freq).en} still to come")
    inputs = latest_prices(store)
    if stock is not None:
        frame = stock if isinstance(stock, pd.DataFrame) else read_stock(stock)
        notes.extend(frame.attrs.get("notes", []))
        ignored = frame.attrs.get("ignored_columns", [])
        if ignored:
            notes.append(f"stock file columns ignored: {ignored}")
        frame = frame.assign(unique_id=restore_id_forms(store, frame["unique_id"], notes))
        unknown = sorted(set(frame["unique_id"]) - set(run.forecasts["unique_id"]))
        if unknown:
            notes.append(f"{len(unknown)} stock row(s) have no forecast in run {run.run_id} and were "
                         f"left out: {', '.join(unknown[:5])}{'...' if len(unknown) > 5 else ''}")
        inputs = inputs.merge(frame, on="unique_id", how="outer")
    defaults = InventoryDefaults(lead_time_days=lead_time, review_days=review,
                                 holding_cost_rate=holding_cost_rate, cost_share=cost_share)
    qcols = [c for c in run.forecasts.columns if c.startswith(f"{chosen}-q-")]
    fc = run.forecasts[["unique_id", "ds", chosen, *qcols]]
    step = 1.0 if freq == "D" else period_days(freq)
    calendar = _calendar(store, freq, notes, lead_time, review) if step != 1 else None
    if calendar is not None and under_way:
        calendar = replace(calendar, start=sold_until + pd.Timedelta(days=1))
    if step != 1 and calendar is None:
        notes.append(f"{describe(freq)} forecasts: lead time {lead_time} d + review {review} d "
                     f"cover {(lead_time + review) / step:.2f} period(s) of {step:g} days (a period's "
                     "demand spread evenly over its days), likewise a stock file's days")
    table = inventory_policy(fc, model=chosen, products=inputs, service_level=service_level,
                             defaults=defaults, method=method, period_days=step, calendar=calendar)
    assumptions = dict(table.attrs["assumptions"])
    # a weekly run is calibrated on weekly backtests (whole weeks of lead time and review);
    # months and quarters have no fixed number of days to count a review cycle in
    weekly = freq.startswith("W") and not under_way
    if step != 1 and not weekly and calibrate:
        raise ModelError(f"--calibrate needs a daily or weekly forecast run; run {run.run_id} is "
                         f"{describe(freq)} (calibration counts review cycles in whole periods)")
    if step != 1 and not weekly:
        calibrate = False
        notes.append("order-up-to levels are uncalibrated: calibration on backtests is for daily "
                     "and weekly runs" + (", from the start of a week (the run's first is under way)"
                                          if freq.startswith("W") else ""))
    if calibrate is not False:
        from trendcast.services.inventory_calibrate import calibrate_levels

        cal = calibrate_levels(store, table, fc, model=chosen, required=bool(calibrate),
                               freq="D" if step == 1 else freq)
        table = cal.table
        notes.extend(cal.notes)
        assumptions["calibration"] = cal.summary
        if cal.summary["cases"]:
            assumptions["calibration_scope"] = ("order-up-to level, safety stock and order quantity; "
                                                "reorder point and stock-out risk stay uncalibrated")
    else:
        table = table.assign(policy="nbinom")
        assumptions["calibration"] = {"method": "nbinom (uncalibrated, --no-calibrate)",
                                      "windows": [], "cases": 0}
    if stock is None:
        notes.append("no stock file: order quantities and stock-out risks need on-hand stock "
                     "(--stock FILE with unique_id,on_hand)")
    return InventoryResult(run.run_id, chosen, table, assumptions, notes)


def records(df: pd.DataFrame) -> list[dict[str, object]]:
    """Rows as JSON-safe dicts: NaN, infinities and missing values become None."""
    clean = df.astype(object).where(df.notna(), None)
    rows = clean.to_dict(orient="records")
    for row in rows:
        for key, value in row.items():
            if isinstance(value, float) and not np.isfinite(value):
                row[key] = None
            elif isinstance(value, np.generic):
                row[key] = value.item()
    return rows
