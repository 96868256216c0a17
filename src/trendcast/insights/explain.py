"""Why a forecast is what it is: drivers in numbers and plain sentences (English, Chinese).

Boosting forecasts (``LightGBMGlobal``): SHAP values of the exact feature rows the booster
scored at each step, grouped into drivers (recent sales level, weekday / season, festival /
events, price, promotion, product group). With the tweedie (log) link a group's SHAP sum is
a log factor, so its effect is ``exp(sum) - 1`` relative to the model's average prediction,
and the factors multiply to the forecast exactly.

Other forecasts: the series is decomposed (STL, or MSTL with a yearly period once two years
are there) after masking calendar-event days; festival effects are the mean residuals on past
days of the same event; the forecast's change against the recent level (the last 28 days)
is split into trend, weekly, yearly and festival parts, and what is left is the model's own
("other").

Weekly, monthly and quarterly series are explained in their own periods: windows count
periods (the recent level is the last 8 weeks, 6 months or 4 quarters:
:func:`recent_reference`), texts say weeks, months or quarters, the season is the year (52,
12 or 4 periods; a shorter series gets a LOWESS trend only), and a period carries the
calendar events of its days, as the models' calendar flags do
(:func:`trendcast.features.exog.period_flags`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from trendcast.errors import DataValidationError, ModelError, NotFoundError
from trendcast.features.exog import DRIVER_PREFIX, UNKNOWN_GROUP
from trendcast.features.frequency import default_season_length, period_labels, period_name
from trendcast.insights.periods import UNITS, Unit, unit_of  # noqa: F401 (re-exported)
from trendcast.insights.report_notes import localize_text

DRIVERS = ("recent_sales", "season", "events", "price", "promotion", "product_group", "external",
           "trend", "weekly", "yearly", "other", "other_covariates")
LABELS = {
    "en": {"recent_sales": "recent sales level", "season": "weekday / season",
           "events": "festival / events", "price": "price", "promotion": "promotion",
           "product_group": "product group", "external": "external drivers (macro)",
           "trend": "trend", "weekly": "weekday pattern",
           "yearly": "time of year", "other": "other (beyond these components)",
           "other_covariates": "other covariates"},
    "zh": {"recent_sales": "近期销量水平", "season": "星期/季节", "events": "节日/活动",
           "price": "价格", "promotion": "促销", "product_group": "商品类目", "external": "外部因素（宏观）",
           "trend": "趋势",
           "weekly": "星期规律", "yearly": "季节（年内）", "other": "其他（成分之外）",
           "other_covariates": "其他协变量"},
}
EVENT_ZH = {
    "Double 11": "双11", "Double 11 presale": "双11预售", "618": "618大促", "618 presale": "618预售",
    "Double 12": "双12", "Black Friday": "黑色星期五", "Cyber Monday": "网络星期一",
    "Spring Festival period": "春节期间", "Chinese New Year (Spring Festival)": "春节",
    "Chinese New Year's Eve": "除夕", "New Year's Day": "元旦", "Labor Day": "劳动节",
    "National Day": "国庆节", "Mid-Autumn Festival": "中秋节", "Dragon Boat Festival": "端午节",
    "Tomb-Sweeping Day": "清明节",
}
_WEEKDAY = {"en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
            "zh": ("周一", "周二", "周三", "周四", "周五", "周六", "周日")}
_DATE_FEATURES = {"dayofweek", "day", "month", "year", "week", "dayofyear", "quarter", "weekofyear",
                  "is_month_start", "is_month_end"}
LANGS = ("en", "zh")
# what changes for a series that is not daily: no weekday in the calendar driver's name
_COARSE_LABELS = {"en": {"season": "season"}, "zh": {"season": "季节"}}


# The recent reference of each frequency, in its periods. A mean and a slope need several
# periods to be steady (the trend is LOWESS-smoothed over 15, SHAP averages as many in-sample
# rows), and "recent" should stay close to the forecast: 28 days are 4 whole weeks (each
# weekday 4 times, so the weekday pattern averages out); 8 weeks and 6 months are about two
# and six months of sales in as few rows as still give a steady level; 4 quarters are a
# whole year, so the quarterly season averages out too. 28 periods at every frequency asked
# for 28 months of history and compared a forecast with sales more than two years old.
_REFERENCE = {"day": 28, "week": 8, "month": 6, "quarter": 4, "year": 3}


def recent_reference(freq: str) -> int:
    """Periods of the recent reference a forecast of ``freq`` is explained against: 28 days,
    8 weeks, 6 months, 4 quarters or 3 years."""
    return _REFERENCE[period_name(freq)]


def driver_label(driver: str, lang: str, freq: str = "D") -> str:
    """A driver's name in ``lang``; the calendar driver of a weekly or coarser series is the
    season (its periods have no weekday)."""
    if freq != "D" and driver in _COARSE_LABELS[lang]:
        return _COARSE_LABELS[lang][driver]
    return LABELS[lang].get(driver, driver)


def feature_group(name: str, static: Sequence[str] = ("category", "department")) -> str:
    """The driver a model feature belongs to."""
    if name.startswith(("lag", "rolling_", "expanding_", "ewm_")):
        return "recent_sales"
    if name in _DATE_FEATURES:
        return "season"
    if name.startswith(("ev_", "event_")):
        return "events"
    if name in ("price", "price_rel", "price_chg", "price_effect"):
        return "price"
    if name == "promo":
        return "promotion"
    if name in static or name == "price_elasticity":  # a product's own constant
        return "product_group"
    if name.startswith(DRIVER_PREFIX):
        return "external"
    return "other_covariates"


# The result ----------------------------------------------------------------------------

@dataclass
class Explanation:
    """Drivers of one series' forecast.

    ``drivers`` has one row per (ds, driver): ``effect`` (relative: +0.32 is +32%), ``log``
    (boosting: the SHAP sum on the log scale; decomposition: NaN), ``units`` (decomposition:
    the part of the change in units; boosting: NaN), ``detail_en`` and ``detail_zh`` (what the
    driver was on the day) and ``week_en`` / ``week_zh`` (the same, shorter, for weekly text).
    """

    unique_id: str
    model: str
    method: str  # "shap" or "decomposition"
    forecast: pd.DataFrame  # ds, forecast
    drivers: pd.DataFrame
    reference: float  # shap: the model's typical recent period (or average); decomposition: recent level
    notes: list[str] = field(default_factory=list)
    freq: str = "D"  # the series' frequency: what a period of the texts is

    @property
    def unit(self) -> Unit:
        return unit_of(self.freq)

    def periods(self, by: str = "day") -> pd.DataFrame:
        """Drivers per forecast date ("day": each period of a weekly or coarser series), or
        per week (7-day blocks from the first forecast date): a week's effect is the geometric
        mean of its daily factors (shap) or its mean share (units). ``days`` counts the
        forecast periods a row covers. A month or quarter is longer than a week, so "week"
        keeps each of its periods whole (7-day blocks would cut them at the wrong dates)."""
        if by not in ("day", "week"):
            raise ModelError(f"by must be 'day' or 'week', got {by!r}")
        if by == "week" and self.unit.en in ("month", "quarter", "year"):
            by = "day"
        d = self.drivers.copy()
        fc = self.forecast.copy()
        start = fc["ds"].min()
        key = (lambda s: s) if by == "day" else (
            lambda s: start + pd.to_timedelta((s - start).dt.days // 7 * 7, unit="D"))
        d["period"], fc["period"] = key(d["ds"]), key(fc["ds"])
        total = fc.groupby("period")["forecast"].agg(["sum", "size"])
        if self.method == "shap":
            eff = d.groupby(["period", "driver"], sort=False)["log"].mean()
            effect = np.expm1(eff)
        else:
            effect = d.groupby(["period", "driver"], sort=False)["effect"].mean()
        if by == "week":
            d["detail_en"], d["detail_zh"] = d["week_en"], d["week_zh"]
        detail = d.groupby(["period", "driver"], sort=False).agg(
            detail_en=("detail_en", _join), detail_zh=("detail_zh", lambda v: _join(v, "、")))
        out = detail.assign(effect=effect).reset_index()
        out["forecast"] = out["period"].map(total["sum"])
        out["days"] = out["period"].map(total["size"])
        return out[["period", "days", "forecast", "driver", "effect", "detail_en", "detail_zh"]]

    def sentences(self, lang: str = "en", *, by: str = "day", top: int = 4) -> list[str]:
        """One line per period: the forecast, then its ``top`` drivers by size of effect."""
        if lang not in LANGS:
            raise ModelError(f"lang must be one of {', '.join(LANGS)}, got {lang!r}")
        lines = []
        for period, g in self.periods(by).groupby("period", sort=True):
            g = g.reindex(g["effect"].abs().sort_values(ascending=False).index).head(top)
            parts = [_phrase(r.effect, r.driver, getattr(r, f"detail_{lang}"), lang, self.freq)
                     for r in g.itertuples()]
            days = int(g["days"].iloc[0])
            lines.append(_headline(period, days, float(g["forecast"].iloc[0]), lang, self)
                         + ("; ".join(parts) if lang == "en" else "；".join(parts)))
        return lines

    def as_dict(self, lang: str = "en", *, by: str = "day", top: int = 4) -> dict[str, Any]:
        per = self.periods(by)
        per["period"] = per["period"].dt.strftime("%Y-%m-%d")
        return {"unique_id": self.unique_id, "model": self.model, "method": self.method,
                "reference": self.reference, "notes": self.notes,
                "sentences": self.sentences(lang, by=by, top=top),
                "drivers": per.to_dict(orient="records")}


def _join(values: pd.Series, sep: str = ", ") -> str:
    seen = list(dict.fromkeys(v for v in values if v))
    return sep.join(seen[:3]) + ((" ..." if sep == ", " else "……") if len(seen) > 3 else "")


def _pct(x: float) -> str:
    return f"{x:+.0%}".replace("-", "−")


def _phrase(effect: float, driver: str, detail: str, lang: str, freq: str = "D") -> str:
    pct = _pct(effect)
    label = driver_label(driver, lang, freq)
    if lang == "en":
        return f"{pct} from {label}" + (f" ({detail})" if detail else "")
    return f"{label}{('（' + detail + '）') if detail else ''} {pct}"


def _headline(period: pd.Timestamp, days: int, total: float, lang: str, ex: Explanation) -> str:
    unit = ex.unit
    if ex.freq == "D":
        span = (f" +{days - 1}d" if lang == "en" else f" 起 {days} 天") if days > 1 else ""
    else:  # a 7-day block holds one period of a weekly or coarser series; said in its periods
        span = ((f" +{days - 1} {unit.plural}" if lang == "en" else f" 起 {days} {unit.zh}")
                if days > 1 else "")
    when = f"{period:%Y-%m-%d}{span}"
    ref = ex.reference * days
    if ex.method == "shap":
        if lang == "en":
            return f"{when}: {total:.1f} units (reference {ref:.1f}): "
        return f"{when}：预计 {total:.1f} 件（参照 {ref:.1f}）："
    change = total / ref - 1 if ref > 0 else float("nan")
    if lang == "en":
        return f"{when}: {total:.1f} units, {_pct(change)} vs the recent level {ref:.1f}: "
    return f"{when}：预计 {total:.1f} 件，较近期水平 {ref:.1f} {_pct(change)}："


def _details(driver: str, d: pd.Timestamp, day: dict[str, str], cal: pd.DataFrame | None,
             freq: str = "D") -> dict[str, str]:
    """Day details, and the shorter ones a week's sentence joins (names, months)."""
    d = pd.Timestamp(d)
    week = dict(day)
    if driver == "events":
        names = [] if cal is None else list(cal.loc[cal["ds"] == d, "name"].drop_duplicates())
        week = {lang: (", " if lang == "en" else "、").join(_event_name(n, lang) for n in names)
                for lang in LANGS}
    elif driver in ("season", "yearly"):
        week = {lang: _time_of_year(d, lang, freq) for lang in LANGS}
    elif driver == "weekly":
        week = {"en": "", "zh": ""}
    return {"detail_en": day["en"], "detail_zh": day["zh"], "week_en": week["en"], "week_zh": week["zh"]}


def _fmt_day(d: pd.Timestamp, lang: str) -> str:
    return f"{d.day} {d:%b}" if lang == "en" else f"{d.month}月{d.day}日"


def _time_of_year(d: pd.Timestamp, lang: str, freq: str) -> str:
    """The month of ``d`` ("November", "11月"); a quarterly series' quarter ("Q4", "第4季度")."""
    if period_name(freq) == "quarter":
        return f"Q{d.quarter}" if lang == "en" else f"第{d.quarter}季度"
    return f"{d:%B}" if lang == "en" else f"{d.month}月"


def _period_end(d: pd.Timestamp, freq: str) -> pd.Timestamp:
    """The last day of the period dated ``d``, as :func:`period_labels` dates periods (weeks
    and *E aliases by their last day, MS/QS/YS by their first)."""
    if freq == "D" or freq.startswith("W") or freq[1:2] == "E":
        return d
    return pd.Timestamp(d + pd.tseries.frequencies.to_offset(freq)) - pd.Timedelta(days=1)


def _on_dates(on: pd.DataFrame, lang: str, freq: str, d: pd.Timestamp) -> str:
    """Events of one period with their days: "Double 11 on 11 Nov", "11月11日双11"."""
    if freq == "D":
        names = (", " if lang == "en" else "、").join(_event_name(n, lang)
                                                      for n in on["name"].drop_duplicates())
        return f"{names} on {_fmt_day(d, lang)}" if lang == "en" else f"{_fmt_day(d, lang)}{names}"
    rows = on.drop_duplicates(["day", "name"]).sort_values("day")
    if lang == "en":
        return ", ".join(f"{_event_name(r.name, lang)} on {_fmt_day(r.day, lang)}" for r in rows.itertuples())
    return "、".join(f"{_fmt_day(r.day, lang)}{_event_name(r.name, lang)}" for r in rows.itertuples())


def _none_on(lang: str, freq: str) -> str:
    """No event in the period: "none on the day", "none in the week", "当天无节日", "本周无节日"."""
    unit = unit_of(freq)
    if lang == "zh":
        return f"{unit.zh_this}无节日"
    return "none on the day" if unit.en == "day" else f"none in the {unit.en}"


def _event_name(name: str, lang: str) -> str:
    """An event's name in ``lang``: the festivals' own names, and in Chinese the names the
    `holidays` package writes in English (``Day off (substituted from 01/04/2026)``)."""
    if lang == "en":
        return name
    return EVENT_ZH.get(name) or localize_text(name, lang)


def _events_detail(d: pd.Timestamp, calendar: pd.DataFrame | None, lang: str,
                   lookahead: int = 3, freq: str = "D") -> str:
    """Events on the day (in the period), else events coming within ``lookahead`` days after
    it (what event_soon saw)."""
    if calendar is None or calendar.empty:
        return ""
    on = calendar.loc[calendar["ds"] == d]
    if len(on):
        return _on_dates(on, lang, freq, d)
    end = _period_end(d, freq)
    soon = calendar[(calendar["day"] > end) & (calendar["day"] <= end + pd.Timedelta(days=lookahead))]
    if len(soon):
        first = soon.sort_values("day").iloc[0]
        name, when = _event_name(first["name"], lang), _fmt_day(first["day"], lang)
        return f"ahead of {name} on {when}" if lang == "en" else f"{when}{name}前夕"
    return _none_on(lang, freq)


def _price_detail(d: pd.Timestamp, path: pd.Series, mean_price: float, lang: str,
                  recent_days: int = 28) -> str:
    """The latest price change within ``recent_days`` before ``d``, else price vs average."""
    upto = path[path.index <= d].dropna()
    if upto.empty:
        return ""
    price = float(upto.iloc[-1])
    step = upto / upto.shift() - 1
    changed = upto[step.abs() > 0.005]  # float32 feature rows differ from stored prices by noise
    changed = changed[changed.index > d - pd.Timedelta(days=recent_days)]
    if len(changed):
        when = changed.index[-1]
        change = float(step.loc[when])
        if lang == "en":
            return f"{'rise' if change > 0 else 'cut'} of {abs(change):.0%} on {_fmt_day(when, lang)}"
        return f"{_fmt_day(when, lang)}{'涨价' if change > 0 else '降价'}{abs(change):.0%}"
    rel = price / mean_price - 1 if mean_price else 0.0
    if lang == "en":
        return f"{price:.2f}, {abs(rel):.0%} {'above' if rel >= 0 else 'below'} its average"
    return f"{price:.2f}，{'高于' if rel >= 0 else '低于'}均价{abs(rel):.0%}"


# Boosting: SHAP ------------------------------------------------------------------------

def shap_values(model: Any, rows: pd.DataFrame) -> tuple[pd.DataFrame, float]:
    """SHAP values (log scale for tweedie) of feature rows from ``predict_features``.

    Returns the values (one column per feature, same index as ``rows``) and the expected value;
    ``expected + values.sum(axis=1)`` is the booster's raw score of each row.
    """
    import shap

    booster = model.mlf_.models_[model.alias]
    features = list(booster.feature_name_)
    explainer = shap.TreeExplainer(booster)
    values = explainer.shap_values(rows[features])
    expected = explainer.expected_value
    return (pd.DataFrame(np.asarray(values), columns=features, index=rows.index),
            float(np.ravel(expected)[0]))


def explain_boosting(model: Any, unique_id: str, h: int, *, X_df: pd.DataFrame | None = None,
                     train_df: pd.DataFrame | None = None, calendar: pd.DataFrame | None = None,
                     reference: str = "recent", reference_periods: int | None = None,
                     freq: str = "D") -> Explanation:
    """Drivers of a fitted ``LightGBMGlobal``'s forecast of one series.

    Args:
        model: a fitted LightGBMGlobal with a log-link objective (tweedie by default).
        unique_id: the series.
        h: forecast steps.
        X_df: future covariates, as for ``model.predict``.
        train_df: the frame the model was fitted on (at least this series); needed for
            ``reference="recent"``.
        calendar: calendar events (``ds, name``) to name festivals.
        reference: ``"recent"``: effects are changes against the model's own rows for the
            series' last ``reference_periods`` training periods (their SHAP values averaged), so
            constant features mostly drop out (they still move through interactions);
            ``"average"``: effects are factors
            on the model's average prediction over all training rows (plain SHAP).
        reference_periods: periods of the recent reference (default
            :func:`recent_reference` of ``freq``: 28 days, 8 weeks, 6 months, 4 quarters).
        freq: the series' frequency (pandas alias): what the texts call a period.
    """
    n_ref = reference_periods or recent_reference(freq)
    if unique_id not in set(getattr(model, "ids_", [])):
        raise NotFoundError(f"series {unique_id!r} was not in the model's training data")
    booster = model.mlf_.models_[model.alias]
    if booster.get_params().get("objective") not in ("tweedie", "poisson", "gamma"):
        raise ModelError("the multiplicative reading of SHAP needs a log-link objective "
                         "(tweedie, poisson or gamma)")
    if reference not in ("recent", "average"):
        raise ModelError(f"reference must be 'recent' or 'average', got {reference!r}")
    point = model.predict(h, X_df=X_df)  # validates h and X_df as a forecast run would
    rows = model.predict_features(h, X_df=X_df)
    rows = rows[rows["unique_id"] == unique_id].reset_index(drop=True)
    values, expected = shap_values(model, rows)
    groups = pd.Series({f: feature_group(f, list(model.static_)) for f in values.columns})
    grouped = values.T.groupby(groups).sum().T  # rows x drivers, log scale
    base = expected
    if reference == "recent":
        if train_df is None:
            raise ModelError("reference='recent' needs train_df, the frame the model was fitted on")
        own = train_df[train_df["unique_id"] == unique_id]
        past = model.features_in_sample(own, last=n_ref)
        past_values, _ = shap_values(model, past)
        past_grouped = past_values.T.groupby(groups).sum().T
        grouped = grouped - past_grouped.mean()
        base = expected + float(past_values.sum(axis=1).mean())
    cal = _calendar(calendar, freq)
    path = _price_path(model, unique_id, rows)
    mean_price = float(getattr(model, "mean_price_", pd.Series(dtype=float)).get(unique_id, np.nan))
    # the model keeps only its last 28 days of rows (4 weeks, one month): the reference's
    # average reads the frame it was fitted on, as its SHAP reference rows do
    source = model.history_ if train_df is None else train_df
    recent = source[source["unique_id"] == unique_id].tail(n_ref)["y"].mean()
    window = (n_ref, float(recent))
    records = []
    for i, r in rows.iterrows():
        for driver in grouped.columns:
            log = float(grouped.loc[i, driver])
            det = {lang: _boost_detail(driver, r, lang, cal, path, mean_price, window, model, freq)
                   for lang in LANGS}
            records.append({"ds": r["ds"], "driver": driver, "log": log, "effect": float(np.expm1(log)),
                            "units": np.nan, **_details(driver, r["ds"], det, cal, freq)})
    point = point[point["unique_id"] == unique_id]
    forecast = pd.DataFrame({"ds": point["ds"].to_numpy(), "forecast": point[model.alias].to_numpy()})
    unit = unit_of(freq)
    if reference == "recent":
        notes = [f"effects are factors against the model's typical recent {unit.en} for {unique_id} "
                 f"({np.exp(base):.2f} units: the geometric mean of its in-sample predictions over the "
                 f"last {n_ref} training {unit.plural}); they multiply to the forecast",
                 "a feature that does not change (the product group) can still move through "
                 "its interactions with the others"]
    else:
        notes = [f"effects are factors on the model's average prediction {np.exp(base):.2f} units "
                 f"(an average product-{unit.en} in training); they multiply to the forecast"]
    return Explanation(unique_id, model.alias, "shap", forecast, pd.DataFrame(records),
                       float(np.exp(base)), notes, freq)


def _boost_detail(driver: str, r: pd.Series, lang: str, cal: pd.DataFrame | None,
                  path: pd.Series, mean_price: float, window: tuple[int, float], model: Any,
                  freq: str = "D") -> str:
    d = pd.Timestamp(r["ds"])
    if driver == "events":
        return _events_detail(d, cal, lang, freq=freq)
    if driver == "price":
        return _price_detail(d, path, mean_price, lang)
    if driver == "promotion":
        on = float(r.get("promo", 0.0)) > 0
        if lang == "en":
            return "on" if on else "none planned"
        return "有促销" if on else "无促销计划"
    if driver == "season":
        if freq != "D":  # a week or month has no weekday
            return _time_of_year(d, lang, freq)
        wd = _WEEKDAY[lang][d.dayofweek]
        return f"{wd}, {d:%B}" if lang == "en" else f"{wd}，{d.month}月"
    if driver == "recent_sales":
        n, recent = window
        unit = unit_of(freq)
        if lang == "en":
            return f"{n}-{unit.en} average {recent:.1f}/{unit.en}"
        return f"近{n}{unit.zh}{unit.zh_mean}{recent:.1f}件"
    if driver == "external":
        return _external_detail(r, lang)
    if driver == "product_group":
        names = [str(model.categories_[c][int(r[c])]) for c in model.static_
                 if c in r and 0 <= int(r[c]) < len(model.categories_[c])]
        if lang == "zh":  # the value features.exog gives a product without a category
            names = ["未知" if n == UNKNOWN_GROUP else n for n in names]
        return " / ".join(names)
    return ""


def _external_detail(r: pd.Series, lang: str) -> str:
    """The external series' values the model saw for the day (already lagged to be known)."""
    parts = [f"{c[len(DRIVER_PREFIX):]} {float(r[c]):.4g}" for c in r.index
             if str(c).startswith(DRIVER_PREFIX)]
    if not parts:
        return ""
    return ", ".join(parts) + (" (latest published)" if lang == "en" else "（最新公布值）")


def _calendar(calendar: pd.DataFrame | None, freq: str = "D") -> pd.DataFrame | None:
    """Calendar events with ``day`` (the event's date) and ``ds`` (the date of the period that
    holds it: the day itself for daily series, the week's label for weekly ones, ...)."""
    if calendar is None or calendar.empty:
        return None
    day = pd.to_datetime(calendar["ds"]).dt.normalize()
    ds = day if freq == "D" else period_labels(day, freq).to_numpy()
    return calendar.assign(day=day.to_numpy(), ds=ds)


def _price_path(model: Any, unique_id: str, rows: pd.DataFrame) -> pd.Series:
    hist = model.history_
    if "price" not in hist.columns or "price" not in rows.columns:
        return pd.Series(dtype=float)
    h = hist.loc[hist["unique_id"] == unique_id, ["ds", "price"]]
    both = pd.concat([h, rows[["ds", "price"]]], ignore_index=True)
    return both.drop_duplicates("ds", keep="last").set_index("ds")["price"].sort_index()


# Other models: decomposition -----------------------------------------------------------

def explain_decomposition(history: pd.DataFrame, forecast: pd.DataFrame, *, unique_id: str,
                          model: str, calendar: pd.DataFrame | None = None,
                          recent_periods: int | None = None, freq: str = "D") -> Explanation:
    """Split each forecast period's change against the recent level into series components.

    Args:
        history: the series' history (``ds``, ``y``), one row per period, without gaps.
        forecast: ``ds`` and ``forecast`` for the periods to explain.
        unique_id: the series (for the result).
        model: the model that made the forecast (for the result).
        calendar: calendar events (``ds``, ``name``); the periods holding them are masked
            before decomposing and their mean residuals become festival effects.
        recent_periods: periods that define the recent level (default
            :func:`recent_reference` of ``freq``: 28 days, 8 weeks, 6 months, 4 quarters).
        freq: the series' frequency (pandas alias).
    """
    unit = unit_of(freq)
    recent_periods = recent_periods or recent_reference(freq)
    hist = history.sort_values("ds").reset_index(drop=True)
    # a daily series needs two weeks and a day for its weekday STL; a coarser one has its
    # trend measured over the recent window, so it needs as much history again before it
    need = max(2 * 7 + 1, recent_periods) if freq == "D" else 2 * recent_periods
    if len(hist) < need:
        raise DataValidationError(
            f"series {unique_id!r} has {len(hist)} {unit.plural} of history; a decomposition needs "
            f"at least {need}")
    cal = _calendar(calendar, freq)
    comp, periods = _decompose(hist, cal, freq)
    level = float(hist["y"].tail(recent_periods).mean())
    if level <= 0:
        raise DataValidationError(f"series {unique_id!r} sold nothing in the last {recent_periods} "
                                  f"{unit.plural}; there is no recent level to compare the forecast with")
    tail = comp.tail(recent_periods)
    trend_end = float(comp["trend"].iloc[-1])
    slope = (trend_end - float(tail["trend"].iloc[0])) / max(len(tail) - 1, 1)  # units per period
    last_day = hist["ds"].iloc[-1]
    effects = _festival_effects(comp, cal)
    weekday_mean = (comp.tail(56).groupby(comp["ds"].dt.dayofweek)["weekly"].mean()
                    if "weekly" in comp else None)
    records = []
    for r in forecast.sort_values("ds").itertuples():
        d = pd.Timestamp(r.ds)
        step = _steps(last_day, d, freq)  # the slope is per period, so steps count periods
        parts = {"trend": trend_end + slope * step - float(tail["trend"].mean())}
        if weekday_mean is not None:
            parts["weekly"] = float(weekday_mean.get(d.dayofweek, 0.0)) - float(tail["weekly"].mean())
        if "yearly" in comp:
            ago = _same_time_last_year(comp, d, step, periods, freq)
            parts["yearly"] = ago - float(tail["yearly"].mean())
        names = [] if cal is None else list(cal.loc[cal["ds"] == d, "name"].drop_duplicates())
        parts["events"] = float(sum(effects.get(n, 0.0) for n in names))
        parts["other"] = float(r.forecast) - level - sum(parts.values())
        for driver, units in parts.items():
            det = {lang: _decomp_detail(driver, d, cal, slope, lang, freq) for lang in LANGS}
            records.append({"ds": d, "driver": driver, "log": np.nan, "effect": units / level,
                            "units": units, **_details(driver, d, det, cal, freq)})
    fc = forecast[["ds", "forecast"]].sort_values("ds").reset_index(drop=True)
    if periods:
        method = f"{'MSTL' if len(periods) > 1 else 'STL'} with periods ({', '.join(map(str, periods))})"
    else:
        season = default_season_length(freq)
        method = (f"LOWESS trend, no season (a yearly season needs {2 * season + 1} {unit.plural} "
                  "of history)")
    masked = f"calendar-event {unit.plural}"
    past = "past days of the same event" if freq == "D" else f"past {unit.plural} with the same event"
    notes = [f"effects are shares of the recent {recent_periods}-{unit.en} level {level:.2f} "
             f"units/{unit.en}; they add up to the forecast's change against it",
             f"decomposition: {method} after masking {int(comp['masked'].sum())} {masked}; trend "
             f"continued at the last {recent_periods} {unit.plural}' slope ({slope:+.3f} units/{unit.en})",
             f"festival effects are mean residuals on {past}; 'other' is "
             f"what {model} adds beyond these components"]
    drivers = pd.DataFrame(records)
    wide = drivers.pivot_table(index="ds", columns="driver", values="units")
    missed = wide[(wide["events"] > 0) & (wide["other"] < -0.5 * wide["events"])]
    for day, row in missed.iterrows():
        notes.append(f"on {day.date()} the history shows {row['events'] / level:+.0%} for the event, but "
                     f"{model}'s forecast does not carry it ('other' {row['other'] / level:+.0%})")
    ahead = set() if cal is None else set(cal.loc[cal["ds"].isin(fc["ds"]), "name"])
    missing = sorted(ahead - set(effects))
    if missing:
        notes.append(f"no past occurrence in the history to measure (counted as 0): {', '.join(missing)}")
    return Explanation(unique_id, model, "decomposition", fc, drivers, level, notes, freq)


def _steps(last: pd.Timestamp, d: pd.Timestamp, freq: str) -> int:
    """Periods of ``freq`` from ``last`` to ``d`` (both on its grid)."""
    if freq == "D":
        return int((d - last).days)
    return len(pd.date_range(last, d, freq=freq)) - 1


def _same_time_last_year(comp: pd.DataFrame, d: pd.Timestamp, step: int, periods: tuple[int, ...],
                         freq: str) -> float:
    """The yearly component where the year last stood where ``d`` stands: daily series, the
    mean of the week around ``d`` a year earlier; others, the period one season before (or
    the latest season that the history holds)."""
    if freq == "D":
        ago = comp.set_index("ds")["yearly"]
        same = ago.reindex(pd.date_range(d - pd.Timedelta(days=368), d - pd.Timedelta(days=362)))
        return float(same.mean())
    season = periods[-1]
    pos = len(comp) - 1 + step - season * int(np.ceil(step / season))
    return float(comp["yearly"].iloc[pos])


def _decompose(hist: pd.DataFrame, cal: pd.DataFrame | None, freq: str = "D"
               ) -> tuple[pd.DataFrame, tuple[int, ...]]:
    """Trend and seasonal components of the history with event periods interpolated over:
    daily series, weekly (and yearly) seasons; others, the yearly season of their frequency
    (52 weeks, 12 months, 4 quarters) once two are there, else a LOWESS trend alone."""
    from statsmodels.tsa.seasonal import MSTL, STL

    y = hist.set_index("ds")["y"].astype(float)
    masked = pd.Series(False, index=y.index)
    if cal is not None:
        masked = pd.Series(y.index.isin(cal["ds"]), index=y.index)
    clean = y.mask(masked).interpolate(limit_direction="both")
    if clean.isna().all():
        clean = y
    out = pd.DataFrame({"ds": y.index, "y": y.to_numpy(), "masked": masked.to_numpy()})
    periods: tuple[int, ...]
    season = default_season_length(freq)
    if freq == "D" and len(y) >= 2 * 365 + 7:
        res = MSTL(clean.to_numpy(), periods=(7, 365)).fit()
        seasonal = np.asarray(res.seasonal)
        out["weekly"], out["yearly"] = seasonal[:, 0], seasonal[:, 1]
        periods = (7, 365)
    elif freq == "D":
        res = STL(clean.to_numpy(), period=7, robust=True).fit()
        out["weekly"] = np.asarray(res.seasonal)
        periods = (7,)
    elif season >= 2 and len(y) >= 2 * season + 1:
        res = STL(clean.to_numpy(), period=season, robust=True).fit()
        out["yearly"] = np.asarray(res.seasonal)
        periods = (season,)
    else:  # fewer than two years: no season to tell from the trend
        out["trend"] = _lowess_trend(clean.to_numpy())
        out["resid"] = out["y"] - out["trend"]
        return out, ()
    out["trend"] = np.asarray(res.trend)
    fitted = out["trend"] + out.get("weekly", 0.0) + out.get("yearly", 0.0)
    out["resid"] = out["y"] - fitted
    return out, periods


def _lowess_trend(y: np.ndarray) -> np.ndarray:
    """A robust LOWESS trend over windows of 15 periods (the trend window STL uses for a
    7-period season, so a short coarse series is smoothed like a daily one)."""
    from statsmodels.nonparametric.smoothers_lowess import lowess

    x = np.arange(len(y), dtype=float)
    return np.asarray(lowess(y, x, frac=min(1.0, 15 / len(y)), return_sorted=False))


def _festival_effects(comp: pd.DataFrame, cal: pd.DataFrame | None) -> dict[str, float]:
    """Mean residual (actual minus trend and seasonality) on the history's periods of each event."""
    if cal is None:
        return {}
    on = comp.merge(cal[["ds", "name"]].drop_duplicates(), on="ds")
    return on.groupby("name")["resid"].mean().to_dict()


def _decomp_detail(driver: str, d: pd.Timestamp, cal: pd.DataFrame | None, slope: float, lang: str,
                   freq: str = "D") -> str:
    if driver == "events":
        on = cal.loc[cal["ds"] == d] if cal is not None else None
        if on is None or on.empty:
            return _none_on(lang, freq)
        if freq != "D":
            return _on_dates(on, lang, freq, d)
        shown = [_event_name(n, lang) for n in on["name"].drop_duplicates()]
        if lang == "en":
            return ", ".join(shown) + f" on {_fmt_day(d, lang)}"
        return f"{_fmt_day(d, lang)}" + "、".join(shown)
    if driver == "weekly":
        return _WEEKDAY[lang][d.dayofweek]
    if driver == "trend":
        unit = unit_of(freq)
        if lang == "en":
            return f"{'rising' if slope > 0 else 'falling'} {abs(slope):.2f}/{unit.en}"
        return f"{unit.zh_each}{'上升' if slope > 0 else '下降'}{abs(slope):.2f}件"
    if driver == "yearly":
        return _time_of_year(d, lang, freq)
    return ""
