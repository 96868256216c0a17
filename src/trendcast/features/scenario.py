"""What-if plans: planned prices, discounts, promotions and extra events over the horizon.

A plan is a small table, one row per decision::

    unique_id,category,start,end,price,discount,promo,event
    P0001,,2025-11-05,2025-11-18,,10,1,
    ,Electronics,2025-11-11,2025-11-11,,,1,Double 11

A row names a product (``unique_id``) or a ``category`` (every product of it), a date range
(``start``, ``end``; ``end`` defaults to ``start``) and at least one of: a planned ``price``,
a ``discount`` in percent off the price the forecast would otherwise assume, a ``promo``
flag (1/0, yes/no) and an ``event`` (a calendar event name, e.g. ``Double 11``, whose flags
the model then sees on those days). :func:`parse_plan` checks every cell against the
catalogue, the calendar and the horizon and names file, row and column of each problem;
:func:`apply_plan` replaces a forecast's assumed future covariates by the plan's.

How a plan moves a forecast (``response``): by default a plan's prices and promotions act
through an estimated :class:`~trendcast.features.elasticity.PriceResponse`: the scenario is
the model's baseline forecast times ``exp(elasticity x log(planned / assumed price) + promo
effect x change of the promotion flag)`` per product and day (:func:`plan_factors`,
:func:`scale_forecast`), the same factor for the point forecast and every quantile. A plan's
events still go through the model's own response to the calendar flags. ``"model"`` leaves
prices and promotions to the model's own response as well.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from trendcast.errors import DataValidationError
from trendcast.features.calendar import event_features
from trendcast.features.elasticity import PriceResponse
from trendcast.schema import quantile_column

PLAN_COLUMNS = ("unique_id", "category", "start", "end", "price", "discount", "promo", "event")
_ALIASES = {"product": "unique_id", "id": "unique_id", "sku": "unique_id", "from": "start",
            "to": "end", "discount_pct": "discount", "promotion": "promo",
            # a Chinese planner's headers
            "商品": "unique_id", "商品编码": "unique_id", "商品id": "unique_id", "品类": "category",
            "类目": "category", "开始": "start", "开始日期": "start", "起始日期": "start", "结束": "end",
            "结束日期": "end", "价格": "price", "售价": "price", "计划价格": "price", "折扣": "discount",
            "促销": "promo", "是否促销": "promo", "活动": "event", "事件": "event"}
_TRUE = {"1", "1.0", "true", "yes", "y", "是", "有"}
_FALSE = {"0", "0.0", "false", "no", "n", "否", "无"}
# dates whose day and month could be either (03/04/2025): written as the planner's locale
# reads them, so refused rather than guessed
_EITHER_ORDER = re.compile(r"^\s*(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})\s*$")
_ZHE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*折\s*$")  # 9折: pay 90%, 10% off
MAX_PLAN_ROWS = 10_000
RESPONSES = ("elasticity", "model")  # how a plan's prices and promotions move the forecast


@dataclass
class Plan:
    """A checked plan, expanded to one row per product and day (``unique_id, ds, price,
    discount, promo, event, row``: NaN/None where the plan leaves the assumption alone)."""

    days: pd.DataFrame
    rows: pd.DataFrame  # the plan as given (normalised column names), for reports
    source: str

    @property
    def ids(self) -> list[str]:
        return sorted(self.days["unique_id"].unique().tolist())


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or str(value).strip() == ""


def parse_plan(raw: pd.DataFrame, *, products: pd.DataFrame, calendar: pd.DataFrame,
               first: pd.Timestamp, last: pd.Timestamp, series: Sequence[str] | None = None,
               source: str | None = None) -> Plan:
    """Check a plan table and expand it to products and days.

    Args:
        raw: the plan rows (text cells as read by :func:`trendcast.data.readers.read_frame`,
            or Python values from JSON).
        products: catalogue rows (``unique_id``, ``category``).
        calendar: calendar events (``ds, name, kind``): an ``event`` must be one of its names.
        first, last: the forecast horizon's first and last day; every date must lie inside.
        series: ids that are forecast (default: the catalogue's); products outside are refused.
        source: the file name for messages (default ``raw.attrs["source"]`` or "plan").

    Raises:
        DataValidationError: naming file, row and column of every problem (at most 20 listed).
    """
    src = source or str(raw.attrs.get("source", "plan"))
    cols = {str(c): _ALIASES.get(str(c).strip().lower(), str(c).strip().lower()) for c in raw.columns}
    df = raw.rename(columns=cols)
    problems: list[dict[str, object]] = []

    def bad(row: int, column: str, value: object, expected: str) -> None:
        problems.append({"file": src, "row": row, "column": column, "value": repr(value),
                         "expected": expected})

    unknown = [c for c in df.columns if c not in PLAN_COLUMNS]
    repeated = list(df.columns[df.columns.duplicated()])
    if unknown or repeated:
        raise DataValidationError(
            f"{src}: unknown or repeated plan column(s) {unknown or repeated}; "
            f"a plan has the columns {', '.join(PLAN_COLUMNS)} (product may stand for unique_id)",
            [{"file": src, "row": 0, "column": c, "value": c, "expected": ", ".join(PLAN_COLUMNS)}
             for c in unknown])
    if df.empty:
        raise DataValidationError(f"{src}: the plan has no rows; add one row per planned change")
    if len(df) > MAX_PLAN_ROWS:
        raise DataValidationError(f"{src}: {len(df):,} plan rows; a plan holds at most "
                                  f"{MAX_PLAN_ROWS:,} (name a category instead of its products)")
    df = df.reindex(columns=list(PLAN_COLUMNS))
    cat = products[["unique_id", "category"]].astype({"unique_id": str}) if len(products) else \
        pd.DataFrame({"unique_id": pd.Series(dtype=object), "category": pd.Series(dtype=object)})
    live = set(map(str, series)) if series is not None else set(cat["unique_id"])
    by_category = cat[cat["unique_id"].isin(live)].groupby("category")["unique_id"].apply(list).to_dict()
    names = set(calendar["name"].dropna().astype(str)) if "name" in calendar.columns else set()
    first, last = pd.Timestamp(first).normalize(), pd.Timestamp(last).normalize()
    span = f"{first.date()} .. {last.date()}"
    pieces: list[pd.DataFrame] = []
    for i, rec in enumerate(df.to_dict(orient="records")):
        row = i + 1  # rows counted as a person does: the first under the header is row 1
        uid, group = rec["unique_id"], rec["category"]
        ids: list[str] = []
        if _blank(uid) == _blank(group):
            bad(row, "unique_id/category", f"{'' if _blank(uid) else uid}/{'' if _blank(group) else group}",
                "a product id or a category, exactly one of them")
        elif not _blank(uid):
            ids = [str(uid).strip()]
            if ids[0] not in live:
                bad(row, "unique_id", uid, "a product that is forecast (`trendcast series` lists them)")
                ids = []
        else:
            ids = by_category.get(str(group).strip(), [])
            if not ids:
                known = ", ".join(sorted(map(str, by_category))[:8])
                bad(row, "category", group, f"a catalogue category with forecast products ({known})")
        dates: dict[str, pd.Timestamp | None] = {}
        for column in ("start", "end"):
            value = rec[column]
            if _blank(value):
                dates[column] = None
                continue
            either = _EITHER_ORDER.match(str(value))
            if either and int(either[1]) <= 12 and int(either[2]) <= 12 and either[1] != either[2]:
                bad(row, column, value, "a date like 2025-11-11 (day and month could be either way round)")
                continue
            day = pd.to_datetime(str(value).strip(), errors="coerce", dayfirst=bool(either))
            if pd.isna(day):
                bad(row, column, value, "a date like 2025-11-11")
            elif not first <= day.normalize() <= last:
                bad(row, column, value, f"a date inside the forecast horizon {span}")
            else:
                dates[column] = day.normalize()
        if "start" in dates and dates["start"] is None:
            bad(row, "start", rec["start"], "a date like 2025-11-11")
        start, end = dates.get("start"), dates.get("end") or dates.get("start")
        if start is not None and end is not None and end < start:
            bad(row, "end", rec["end"], f"a date on or after start {start.date()}")
        price = _number(rec["price"], row, "price", bad, "a price > 0", lambda v: v > 0)
        discount = _number(_percent_off(rec["discount"]), row, "discount", bad,
                           "a discount in percent, 0 or 1 to 99 (10 means 10% off, as does 9折; 0.1 "
                           "would be 0.1% off)", lambda v: v == 0 or 1 <= v < 100)
        if not (np.isnan(price) or np.isnan(discount)):
            bad(row, "discount", rec["discount"], "a price or a discount, not both")
        promo = np.nan
        if not _blank(rec["promo"]):
            text = str(rec["promo"]).strip().lower()
            promo = 1.0 if text in _TRUE else 0.0 if text in _FALSE else np.nan
            if text not in _TRUE | _FALSE:
                bad(row, "promo", rec["promo"], "1 or 0 (yes/no, true/false)")
        event = None if _blank(rec["event"]) else str(rec["event"]).strip()
        if event is not None and event not in names:
            bad(row, "event", rec["event"], "a calendar event name (`trendcast calendar` lists them)")
        if all(_blank(rec[c]) for c in ("price", "discount", "promo", "event")):
            bad(row, "price/discount/promo/event", "", "at least one planned change")
        if ids and start is not None and end is not None and end >= start:
            days = pd.date_range(start, end, freq="D")
            pieces.append(pd.DataFrame({
                "unique_id": np.repeat(ids, len(days)), "ds": np.tile(days.to_numpy(), len(ids)),
                "price": price, "discount": discount, "promo": promo, "event": event, "row": row}))
    if problems:
        raise _refusal(src, problems)
    days = pd.concat(pieces, ignore_index=True)
    _check_overlaps(days, src)
    days = days.groupby(["unique_id", "ds"], as_index=False).agg(
        price=("price", "max"), discount=("discount", "max"), promo=("promo", "max"),
        event=("event", lambda s: next((v for v in s if v is not None), None)), row=("row", "min"))
    return Plan(days, df, src)


def planner_row(row: dict[str, object]) -> dict[str, object]:
    """One plan row as a planner writes it (``商品``, ``折扣: 9折``, ``促销: 是``) under the plan's
    own names and values (``unique_id``, ``discount: 10``, ``promo: True``), for the API's typed
    rows; a file's rows go through :func:`parse_plan`, which reads the same."""
    out: dict[str, object] = {}
    for key, value in row.items():
        written = str(key).strip().lower()
        name = _ALIASES.get(written, written)
        if name == "discount":
            value = _percent_off(value)
        elif name == "promo" and isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            value = value.strip().lower() in _TRUE
        out[str(name)] = value
    return out


def _percent_off(value: object) -> object:
    """A discount as percent off: ``9折`` (pay 90%) is 10, ``8.5折`` 15; else as written."""
    m = _ZHE.match(str(value)) if isinstance(value, str) else None
    if m is None:
        return value
    tenths = float(m[1])
    pay = tenths * 10 if tenths < 10 else tenths  # 9折 pays 90%, 85折 85%
    return f"{100 - pay:g}" if 0 < pay < 100 else value


def _number(value: object, row: int, column: str, bad: Callable[[int, str, object, str], None],
            expected: str, ok: Callable[[float], bool]) -> float:
    if _blank(value):
        return float("nan")
    try:
        number = float(str(value).strip().rstrip("%"))
    except ValueError:
        number = float("nan")
    if np.isnan(number) or not np.isfinite(number) or not ok(number):
        bad(row, column, value, expected)
        return float("nan")
    return number


def _check_overlaps(days: pd.DataFrame, src: str) -> None:
    """Two rows setting the same thing for the same product and day contradict each other."""
    problems: list[dict[str, object]] = []
    for column in ("price", "discount", "promo", "event"):
        setting = days[days[column].notna()]
        dup = setting[setting.duplicated(["unique_id", "ds"], keep=False)]
        if dup.empty:
            continue
        first = dup.iloc[0]
        rows = sorted(dup.loc[(dup["unique_id"] == first["unique_id"]) & (dup["ds"] == first["ds"]), "row"])
        problems.append({"file": src, "row": rows[-1], "column": column,
                         "value": f"{first['unique_id']} on {pd.Timestamp(first['ds']).date()}",
                         "expected": f"one plan row per product and day for {column} (rows {rows} overlap)"})
    setting = days[days["price"].notna() | days["discount"].notna()]
    dup = setting[setting.duplicated(["unique_id", "ds"], keep=False)]
    if not dup.empty and not problems:
        first = dup.iloc[0]
        problems.append({"file": src, "row": int(dup["row"].max()), "column": "price/discount",
                         "value": f"{first['unique_id']} on {pd.Timestamp(first['ds']).date()}",
                         "expected": "a price or a discount per product and day, not both"})
    if problems:
        raise _refusal(src, problems)


def _refusal(src: str, problems: list[dict[str, object]]) -> DataValidationError:
    shown = problems[:20]
    lines = [f"row {p['row']}, column {p['column']!r}: {p['value']}, expected {p['expected']}"
             for p in shown]
    more = f" (and {len(problems) - 20} more)" if len(problems) > 20 else ""
    return DataValidationError(f"{src}: the plan was refused, {len(problems)} problem(s){more}: "
                               + "; ".join(lines) + ". Fix the plan and run again.", problems)


def event_flags(name: str, calendar: pd.DataFrame) -> dict[str, float]:
    """The calendar flags (``ev_<kind>``, ``fest_<name>``, ``event_any``) the event ``name``
    raises on its day, as :func:`~trendcast.features.calendar.event_features` builds them."""
    rows = calendar[calendar["name"].astype(str) == name]
    day = pd.Timestamp("2000-01-01")
    one = rows.iloc[:1].assign(ds=day)
    feats = event_features(pd.DatetimeIndex([day]), one).iloc[0]
    return {c: 1.0 for c, v in feats.items() if c not in ("ds", "event_soon") and v > 0}


def plan_periods(days: pd.DataFrame, freq: str) -> pd.DataFrame:
    """A plan's days (:attr:`Plan.days`) as the periods of a weekly, monthly, ... forecast, the
    way stored sales are aggregated to them: ``promo`` the share of the period's days
    promoted, ``discount`` its mean over the period's days, ``price`` the planned price with
    ``_k`` planned days of ``_n`` (the other days keep the assumed price), ``event`` any."""
    from trendcast.features.frequency import period_labels

    offset = pd.tseries.frequencies.to_offset(freq)
    frame = days.assign(ds=period_labels(days["ds"], freq).to_numpy())
    labels = pd.DatetimeIndex(frame["ds"])
    end_labelled = freq.startswith("W") or freq[1:2] == "E"
    first = (labels - offset + pd.Timedelta(days=1)) if end_labelled else labels
    last = labels if end_labelled else labels + offset - pd.Timedelta(days=1)
    frame["_n"] = (last - first).days + 1
    frame["_k"] = frame["price"].notna().astype(float)
    grouped = frame.groupby(["unique_id", "ds"], sort=False)
    out = grouped.agg(_n=("_n", "first"), _k=("_k", "sum"), price=("price", "mean"),
                      promo_sum=("promo", "sum"), promo_set=("promo", "count"),
                      discount_sum=("discount", "sum"), discount_set=("discount", "count"),
                      event=("event", "first"), row=("row", "min")).reset_index()
    out["promo"] = (out["promo_sum"] / out["_n"]).where(out["promo_set"] > 0)
    out["discount"] = (out["discount_sum"] / out["_n"]).where(out["discount_set"] > 0)
    return out[["unique_id", "ds", "price", "discount", "promo", "event", "row", "_k", "_n"]]


def apply_plan(future: pd.DataFrame, plan: Plan, calendar: pd.DataFrame, freq: str = "D"
               ) -> tuple[pd.DataFrame, list[str]]:
    """``future`` (the covariates a forecast assumes: :func:`~trendcast.features.exog.future_covariates`)
    with the plan's prices, promotions and event flags on the planned products and days (for
    a coarser ``freq``, on the periods that hold them: :func:`plan_periods`).

    A discount is taken off the price the forecast assumed. Returns notes for what the plan
    sets but these covariates cannot carry (no prices in the data, an event kind the model
    never saw)."""
    keys = ["unique_id", "ds"]
    out = future.copy()
    days = plan.days if freq == "D" else plan_periods(plan.days, freq)
    hit = out[keys].merge(days, on=keys, how="left")
    notes: list[str] = []
    if "price" in out.columns:
        planned = hit["price"].to_numpy(dtype=float)
        assumed = out["price"].to_numpy(dtype=float)
        if "_k" in hit.columns:  # a price planned on k of a period's n days
            k, n = hit["_k"].to_numpy(dtype=float), hit["_n"].to_numpy(dtype=float)
            planned = np.where(np.isnan(assumed), planned, (k * planned + (n - k) * assumed) / n)
        off = assumed * (1 - hit["discount"].to_numpy(dtype=float) / 100)
        new = np.where(~np.isnan(planned), planned, np.where(~np.isnan(off), off, out["price"]))
        out["price"] = new
    elif hit[["price", "discount"]].notna().any().any():
        notes.append("the sales have no prices: the plan's prices and discounts cannot change the "
                     "forecast (ingest sales with a price column)")
    if "promo" in out.columns:
        promo = hit["promo"].to_numpy(dtype=float)
        out["promo"] = np.where(~np.isnan(promo), promo, out["promo"])
    elif hit["promo"].notna().any():
        notes.append("the sales have no promo column: the plan's promotions cannot change the forecast")
    for name in hit["event"].dropna().unique():
        mask = (hit["event"] == name).to_numpy()
        flags = event_flags(str(name), calendar)
        unseen = [c for c in flags if c not in out.columns]
        for column in flags:
            if column in out.columns:
                out.loc[mask, column] = 1.0
        if unseen:
            notes.append(f"event {name!r}: its flag(s) {unseen} never occur in the history, so "
                         "the model cannot use them")
    return out, notes


def scenario_notes(aliases_without: Sequence[str]) -> list[str]:
    """The note that names models the plan cannot change."""
    if not aliases_without:
        return []
    return [f"{', '.join(aliases_without)} take(s) no covariates: the plan cannot change "
            "its forecast, so it has no scenario (use LightGBM or Chronos2 for scenarios)"]


def events_only(plan: Plan) -> Plan | None:
    """The plan's events alone (prices, discounts and promotions left as assumed), or None
    when it sets no event."""
    days = plan.days[plan.days["event"].notna()]
    if days.empty:
        return None
    return Plan(days.assign(price=np.nan, discount=np.nan, promo=np.nan).reset_index(drop=True),
                plan.rows, plan.source)


def plan_factors(future: pd.DataFrame, planned: pd.DataFrame, response: PriceResponse,
                 ids: Sequence[str]) -> pd.DataFrame:
    """``unique_id, ds, factor`` for the rows of ``ids``: how many times the assumed demand
    the plan's price and promotion give under ``response`` (1 where the plan changes neither).

    Args:
        future: the covariates the forecast assumes (``price``, ``promo`` when known).
        planned: the same with the plan applied (:func:`apply_plan`).
        response: the estimated price and promotion response.
        ids: the planned products.
    """
    keys = ["unique_id", "ds"]
    cols = [c for c in ("price", "promo") if c in future.columns and c in planned.columns]
    keep = set(ids)
    base = future.loc[future["unique_id"].isin(keep), keys + cols]
    plan = planned.loc[planned["unique_id"].isin(keep), keys + cols]
    rows = base.merge(plan, on=keys, suffixes=("_base", "_plan"))
    n = len(rows)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = (rows["price_plan"].to_numpy(dtype=float) / rows["price_base"].to_numpy(dtype=float)
                 if "price" in cols else np.ones(n))
    change = (rows["promo_plan"].to_numpy(dtype=float) - rows["promo_base"].to_numpy(dtype=float)
              if "promo" in cols else np.zeros(n))
    factor = np.exp(response.log_change(rows["unique_id"], ratio, change))
    return rows[keys].assign(factor=factor)


def scale_forecast(fc: pd.DataFrame, factors: pd.DataFrame, alias: str,
                   quantiles: Sequence[float]) -> pd.DataFrame:
    """``fc`` (``unique_id, ds, <alias>, <alias>-q-<q>``) with the point forecast and each
    quantile multiplied by the row's ``factor`` (1 where ``factors`` has no row): the plan
    moves the whole demand distribution by the same proportion."""
    keys = ["unique_id", "ds"]
    out = fc.merge(factors[keys + ["factor"]], on=keys, how="left")
    factor = out.pop("factor").fillna(1.0).to_numpy(dtype=float)
    cols = [c for c in [alias, *(quantile_column(alias, q) for q in quantiles)] if c in out.columns]
    for c in cols:
        out[c] = out[c].to_numpy(dtype=float) * factor
    return out


def response_note(response: PriceResponse, ids: Sequence[str], models: Sequence[str],
                  history_days: int | None, events: bool) -> str:
    """How a plan's effect was computed, with the planned products' estimates."""
    e = pd.Series(response.of(list(ids)), index=list(ids))
    kinds = pd.Series(ids).map(response.source).fillna("pooled").value_counts()
    counts = ", ".join(f"{kinds.get(k, 0)} {k}" for k in ("own", "shrunk", "pooled") if kinds.get(k, 0))
    promo = ("no promotion effect (none estimable: no promo column or too few products with "
             "promotions)" if response.promo is None else
             f"a shop-wide promotion effect of {response.promo:+.3f} (x{np.exp(response.promo):.2f}) "
             "on planned promotion days")
    window = f"the last {history_days} days" if history_days else "the whole history"
    return (f"what-if ({', '.join(models)}): the plan's prices and promotions move each model's "
            "baseline forecast by exp(elasticity x log(planned / assumed price) + promotion "
            f"effect x change of the promo flag), with {promo}; the same factor scales the point "
            f"forecast and every quantile. Elasticities of the {len(ids)} planned product(s): "
            f"median {e.median():.2f} (range {e.min():.2f} .. {e.max():.2f}; {counts}), estimated "
            f"on {window} of {response.n_products:,} product(s) (Poisson fits with weekday, "
            "trend, season and calendar controls, shrunk toward the department / category)"
            + ("; the plan's events go through each model's own response to the calendar flags"
               if events else ""))
