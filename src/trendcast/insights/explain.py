"""Why a forecast is what it is: drivers in numbers and plain sentences (English, Chinese).

Boosting forecasts (``LightGBMGlobal``): SHAP values of the exact feature rows the booster
scored at each step, grouped into drivers (recent sales level, weekday / season, festival /
events, price, promotion, product group). With the tweedie (log) link a group's SHAP sum is
a log factor, so its effect is ``exp(sum) - 1`` relative to the model's average prediction,
and the factors multiply to the forecast exactly.

Other forecasts: the series is decomposed (STL, or MSTL with a yearly period once two years
are there) after masking calendar-event days; festival effects are the mean residuals on past
days of the same event; the forecast's change against the recent 28-day level is split into
trend, weekly, yearly and festival parts, and what is left is the model's own ("other").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from trendcast.errors import DataValidationError, ModelError, NotFoundError
from trendcast.features.exog import DRIVER_PREFIX

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
    reference: float  # shap: the model's typical recent day (or average); decomposition: recent level
    notes: list[str] = field(default_factory=list)

    def periods(self, by: str = "day") -> pd.DataFrame:
        """Drivers per day, or per week (7-day blocks from the first forecast day): a week's
        effect is the geometric mean of its daily factors (shap) or its mean share (units)."""
        if by not in ("day", "week"):
            raise ModelError(f"by must be 'day' or 'week', got {by!r}")
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
        detail = d.groupby(["period", "driver"], sort=False)[["detail_en", "detail_zh"]].agg(_join)
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
            parts = [_phrase(r.effect, r.driver, getattr(r, f"detail_{lang}"), lang)
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


def _join(values: pd.Series) -> str:
    seen = list(dict.fromkeys(v for v in values if v))
    return ", ".join(seen[:3]) + (" ..." if len(seen) > 3 else "")


def _pct(x: float) -> str:
    return f"{x:+.0%}".replace("-", "−")


def _phrase(effect: float, driver: str, detail: str, lang: str) -> str:
    pct = _pct(effect)
    label = LABELS[lang][driver]
    if lang == "en":
        return f"{pct} from {label}" + (f" ({detail})" if detail else "")
    return f"{label}{('（' + detail + '）') if detail else ''} {pct}"


def _headline(period: pd.Timestamp, days: int, total: float, lang: str, ex: Explanation) -> str:
    span = (f" +{days - 1}d" if lang == "en" else f" 起 {days} 天") if days > 1 else ""
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


def _details(driver: str, d: pd.Timestamp, day: dict[str, str], cal: pd.DataFrame | None
             ) -> dict[str, str]:
    """Day details, and the shorter ones a week's sentence joins (names, months)."""
    d = pd.Timestamp(d)
    week = dict(day)
    if driver == "events":
        names = [] if cal is None else list(cal.loc[cal["ds"] == d, "name"].drop_duplicates())
        week = {lang: ", ".join(_event_name(n, lang) for n in names) for lang in LANGS}
    elif driver in ("season", "yearly"):
        week = {"en": f"{d:%B}", "zh": f"{d.month}月"}
    elif driver == "weekly":
        week = {"en": "", "zh": ""}
    return {"detail_en": day["en"], "detail_zh": day["zh"], "week_en": week["en"], "week_zh": week["zh"]}


def _fmt_day(d: pd.Timestamp, lang: str) -> str:
    return f"{d.day} {d:%b}" if lang == "en" else f"{d.month}月{d.day}日"


def _event_name(name: str, lang: str) -> str:
    return name if lang == "en" else EVENT_ZH.get(name, name)


def _events_detail(d: pd.Timestamp, calendar: pd.DataFrame | None, lang: str,
                   lookahead: int = 3) -> str:
    """Events on the day, else events coming within ``lookahead`` days (what event_soon saw)."""
    if calendar is None or calendar.empty:
        return ""
    on = calendar.loc[calendar["ds"] == d, "name"].drop_duplicates()
    if len(on):
        names = ", ".join(_event_name(n, lang) for n in on)
        return f"{names} on {_fmt_day(d, lang)}" if lang == "en" else f"{_fmt_day(d, lang)}{names}"
    soon = calendar[(calendar["ds"] > d) & (calendar["ds"] <= d + pd.Timedelta(days=lookahead))]
    if len(soon):
        first = soon.sort_values("ds").iloc[0]
        name, when = _event_name(first["name"], lang), _fmt_day(first["ds"], lang)
        return f"ahead of {name} on {when}" if lang == "en" else f"{when}{name}前夕"
    return "none on the day" if lang == "en" else "当天无节日"


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
                     reference: str = "recent", reference_days: int = 28) -> Explanation:
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
            series' last ``reference_days`` training days (their SHAP values averaged), so
            constant features mostly drop out (they still move through interactions);
            ``"average"``: effects are factors
            on the model's average prediction over all training rows (plain SHAP).
        reference_days: days of the recent reference.
    """
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
        past = model.features_in_sample(own, last=reference_days)
        past_values, _ = shap_values(model, past)
        past_grouped = past_values.T.groupby(groups).sum().T
        grouped = grouped - past_grouped.mean()
        base = expected + float(past_values.sum(axis=1).mean())
    cal = _calendar(calendar)
    path = _price_path(model, unique_id, rows)
    mean_price = float(getattr(model, "mean_price_", pd.Series(dtype=float)).get(unique_id, np.nan))
    recent = model.history_[model.history_["unique_id"] == unique_id].tail(reference_days)["y"].mean()
    records = []
    for i, r in rows.iterrows():
        for driver in grouped.columns:
            log = float(grouped.loc[i, driver])
            det = {lang: _boost_detail(driver, r, lang, cal, path, mean_price, recent, model)
                   for lang in LANGS}
            records.append({"ds": r["ds"], "driver": driver, "log": log, "effect": float(np.expm1(log)),
                            "units": np.nan, **_details(driver, r["ds"], det, cal)})
    point = point[point["unique_id"] == unique_id]
    forecast = pd.DataFrame({"ds": point["ds"].to_numpy(), "forecast": point[model.alias].to_numpy()})
    if reference == "recent":
        notes = [f"effects are factors against the model's typical recent day for {unique_id} "
                 f"({np.exp(base):.2f} units: the geometric mean of its in-sample predictions over the "
                 f"last {reference_days} training days); they multiply to the forecast",
                 "a feature that does not change (the product group) can still move through "
                 "its interactions with the others"]
    else:
        notes = [f"effects are factors on the model's average prediction {np.exp(base):.2f} units "
                 "(an average product-day in training); they multiply to the forecast"]
    return Explanation(unique_id, model.alias, "shap", forecast, pd.DataFrame(records),
                       float(np.exp(base)), notes)


def _boost_detail(driver: str, r: pd.Series, lang: str, cal: pd.DataFrame | None,
                  path: pd.Series, mean_price: float, recent: float, model: Any) -> str:
    d = pd.Timestamp(r["ds"])
    if driver == "events":
        return _events_detail(d, cal, lang)
    if driver == "price":
        return _price_detail(d, path, mean_price, lang)
    if driver == "promotion":
        on = float(r.get("promo", 0.0)) > 0
        if lang == "en":
            return "on" if on else "none planned"
        return "有促销" if on else "无促销计划"
    if driver == "season":
        wd = _WEEKDAY[lang][d.dayofweek]
        return f"{wd}, {d:%B}" if lang == "en" else f"{wd}，{d.month}月"
    if driver == "recent_sales":
        return (f"28-day average {recent:.1f}/day" if lang == "en" else f"近28天日均{recent:.1f}件")
    if driver == "external":
        return _external_detail(r, lang)
    if driver == "product_group":
        names = [str(model.categories_[c][int(r[c])]) for c in model.static_
                 if c in r and 0 <= int(r[c]) < len(model.categories_[c])]
        return " / ".join(names)
    return ""


def _external_detail(r: pd.Series, lang: str) -> str:
    """The external series' values the model saw for the day (already lagged to be known)."""
    parts = [f"{c[len(DRIVER_PREFIX):]} {float(r[c]):.4g}" for c in r.index
             if str(c).startswith(DRIVER_PREFIX)]
    if not parts:
        return ""
    return ", ".join(parts) + (" (latest published)" if lang == "en" else "（最新公布值）")


def _calendar(calendar: pd.DataFrame | None) -> pd.DataFrame | None:
    if calendar is None or calendar.empty:
        return None
    return calendar.assign(ds=pd.to_datetime(calendar["ds"]).dt.normalize())


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
                          recent_days: int = 28) -> Explanation:
    """Split each forecast day's change against the recent level into series components.

    Args:
        history: the series' daily history (``ds``, ``y``), without gaps.
        forecast: ``ds`` and ``forecast`` for the days to explain.
        unique_id: the series (for the result).
        model: the model that made the forecast (for the result).
        calendar: calendar events (``ds``, ``name``); their days are masked before decomposing
            and their mean residuals become festival effects.
        recent_days: days that define the recent level.
    """
    hist = history.sort_values("ds").reset_index(drop=True)
    if len(hist) < max(2 * 7 + 1, recent_days):
        raise DataValidationError(
            f"series {unique_id!r} has {len(hist)} days of history; a decomposition needs at least "
            f"{max(15, recent_days)}")
    cal = _calendar(calendar)
    comp, periods = _decompose(hist, cal)
    level = float(hist["y"].tail(recent_days).mean())
    if level <= 0:
        raise DataValidationError(f"series {unique_id!r} sold nothing in the last {recent_days} days; "
                                  "there is no recent level to compare the forecast with")
    tail = comp.tail(recent_days)
    trend_end = float(comp["trend"].iloc[-1])
    slope = (trend_end - float(tail["trend"].iloc[0])) / max(len(tail) - 1, 1)
    last_day = hist["ds"].iloc[-1]
    effects = _festival_effects(comp, cal)
    weekday_mean = comp.tail(56).groupby(comp["ds"].dt.dayofweek)["weekly"].mean()
    records = []
    for r in forecast.sort_values("ds").itertuples():
        d = pd.Timestamp(r.ds)
        step = (d - last_day).days
        parts = {
            "trend": trend_end + slope * step - float(tail["trend"].mean()),
            "weekly": float(weekday_mean.get(d.dayofweek, 0.0)) - float(tail["weekly"].mean()),
        }
        if "yearly" in comp:
            ago = comp.set_index("ds")["yearly"]
            same = ago.reindex(pd.date_range(d - pd.Timedelta(days=368), d - pd.Timedelta(days=362)))
            parts["yearly"] = float(same.mean()) - float(tail["yearly"].mean())
        names = [] if cal is None else list(cal.loc[cal["ds"] == d, "name"].drop_duplicates())
        parts["events"] = float(sum(effects.get(n, 0.0) for n in names))
        parts["other"] = float(r.forecast) - level - sum(parts.values())
        for driver, units in parts.items():
            det = {lang: _decomp_detail(driver, d, names, effects, slope, lang) for lang in LANGS}
            records.append({"ds": d, "driver": driver, "log": np.nan, "effect": units / level,
                            "units": units, **_details(driver, d, det, cal)})
    fc = forecast[["ds", "forecast"]].sort_values("ds").reset_index(drop=True)
    notes = [f"effects are shares of the recent {recent_days}-day level {level:.2f} units/day; "
             "they add up to the forecast's change against it",
             f"decomposition: {'MSTL' if len(periods) > 1 else 'STL'} with periods {periods} after "
             f"masking {int(comp['masked'].sum())} calendar-event days; trend continued at the "
             f"last {recent_days} days' slope ({slope:+.3f} units/day)",
             "festival effects are mean residuals on past days of the same event; 'other' is "
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
    return Explanation(unique_id, model, "decomposition", fc, drivers, level, notes)


def _decompose(hist: pd.DataFrame, cal: pd.DataFrame | None) -> tuple[pd.DataFrame, tuple[int, ...]]:
    """Trend, weekly (and yearly) components of the history with event days interpolated over."""
    from statsmodels.tsa.seasonal import MSTL, STL

    y = hist.set_index("ds")["y"].astype(float)
    masked = pd.Series(False, index=y.index)
    if cal is not None:
        masked = pd.Series(y.index.isin(cal["ds"]), index=y.index)
    clean = y.mask(masked).interpolate(limit_direction="both")
    if clean.isna().all():
        clean = y
    out = pd.DataFrame({"ds": y.index, "y": y.to_numpy(), "masked": masked.to_numpy()})
    if len(y) >= 2 * 365 + 7:
        res = MSTL(clean.to_numpy(), periods=(7, 365)).fit()
        seasonal = np.asarray(res.seasonal)
        out["weekly"], out["yearly"] = seasonal[:, 0], seasonal[:, 1]
        periods: tuple[int, ...] = (7, 365)
    else:
        res = STL(clean.to_numpy(), period=7, robust=True).fit()
        out["weekly"] = np.asarray(res.seasonal)
        periods = (7,)
    out["trend"] = np.asarray(res.trend)
    fitted = out["trend"] + out["weekly"] + out.get("yearly", 0.0)
    out["resid"] = out["y"] - fitted
    return out, periods


def _festival_effects(comp: pd.DataFrame, cal: pd.DataFrame | None) -> dict[str, float]:
    """Mean residual (actual minus trend and seasonality) on the history's days of each event."""
    if cal is None:
        return {}
    on = comp.merge(cal[["ds", "name"]].drop_duplicates(), on="ds")
    return on.groupby("name")["resid"].mean().to_dict()


def _decomp_detail(driver: str, d: pd.Timestamp, names: list[str], effects: dict[str, float],
                   slope: float, lang: str) -> str:
    if driver == "events":
        if not names:
            return "none on the day" if lang == "en" else "当天无节日"
        shown = [_event_name(n, lang) for n in names]
        if lang == "en":
            return ", ".join(shown) + f" on {_fmt_day(d, lang)}"
        return f"{_fmt_day(d, lang)}" + "、".join(shown)
    if driver == "weekly":
        return _WEEKDAY[lang][d.dayofweek]
    if driver == "trend":
        if lang == "en":
            return f"{'rising' if slope > 0 else 'falling'} {abs(slope):.2f}/day"
        return f"{'每天上升' if slope > 0 else '每天下降'}{abs(slope):.2f}件"
    if driver == "yearly":
        return f"{d:%B}" if lang == "en" else f"{d.month}月"
    return ""
