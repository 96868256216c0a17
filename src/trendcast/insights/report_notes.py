"""The report's notes in the reader's language.

Models, services and the run record write their notes in English (the record is shared by the
CLI, the API and the logs); the report translates the ones it prints, pattern by pattern, so a
Chinese report reads in Chinese without changing what the models say. A note no pattern knows
is printed as written, marked as the original text (a test runs the demo workspace through the
Chinese report and fails on any English left over).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar

from trendcast.insights.periods import UNITS

# English words and symbols that stay as they are in a Chinese report: model and metric names,
# test names, units and the names of the tools the reader types (commands sit in <code>).
KEEP_WORDS = frozenset({
    "trendcast", "MSTL", "STL", "MK", "Kendall", "WAPE", "MAE", "RMSE", "MASE", "RMSSE", "sMAPE", "WQL",
    "LightGBM", "AutoETS", "AutoARIMA", "AutoTheta", "SeasonalNaive", "Naive", "SeasonalWindowAverage",
    "CrostonOptimized", "DynamicOptimizedTheta", "Recommended", "Fracast", "Chronos", "SHAP", "PDF",
    "LightGBMDirect", "LightGBMDrivers", "LightGBMDirectDrivers", "MedianEnsemble", "WeightedEnsemble",
    "LinearTrend", "WindowAverage", "AutoSelect", "ChronosBolt", "TimesFM", "NHITS", "PatchTST", "ADIDA",
    "IMAPA", "TSB", "LOWESS",
})

# A pattern and its translation: a template (``\1``, ``\g<id>``) or a function of the match,
# which may return None when it does not know a part (the rule then does not apply).
Rule = tuple[re.Pattern[str], str | Callable[[re.Match[str]], str | None]]
_USED: ContextVar[set[str] | None] = ContextVar("trendcast_rules_used", default=None)


def compile_rules(pairs: Iterable[tuple[str, str | Callable[[re.Match[str]], str | None]]]) -> list[Rule]:
    """Rules whose patterns must match the whole text."""
    return [(re.compile("^" + p + "$"), r) for p, r in pairs]


def apply_rules(text: str, rules: Sequence[Rule]) -> str | None:
    """``text`` translated by the first rule that matches all of it; None when none does."""
    for pattern, repl in rules:
        m = pattern.match(text)
        if m is None:
            continue
        out = m.expand(repl) if isinstance(repl, str) else repl(m)
        if out is not None:
            used = _USED.get()
            if used is not None:
                used.add(pattern.pattern)
            return out
    return None


@contextmanager
def rules_used() -> Iterator[set[str]]:
    """The patterns (``pattern.pattern``) that :func:`apply_rules` applies inside the block:
    tests check that every rule is exercised by a real message."""
    used: set[str] = set()
    token = _USED.set(used)
    try:
        yield used
    finally:
        _USED.reset(token)


def _holiday(m: re.Match[str]) -> str:
    month, day, year = m.group(1).split("/")
    return f"调休（由 {year}-{month}-{day} 调来）"


# Names the `holidays` package writes in English into a Chinese calendar.
_NAMES: list[Rule] = [
    (re.compile(r"Day off \(substituted from (\d{2}/\d{2}/\d{4})\)"), _holiday),
    (re.compile(r"(?<=[^\x00-\x7f]), (?=[^\x00-\x7f])"), "、"),  # 元旦, 调休 -> 元旦、调休
]


_WEEKDAY_ZH = {"Mondays": "周一", "Tuesdays": "周二", "Wednesdays": "周三", "Thursdays": "周四",
               "Fridays": "周五", "Saturdays": "周六", "Sundays": "周日"}
_KIND_ZH = {"daily": "日度", "weekly": "周度", "monthly": "月度", "quarterly": "季度", "yearly": "年度"}


def _freq_zh(text: str) -> str:
    """features.frequency.describe in Chinese: 'weekly (Fridays)' -> '周度（以周五标日期）'."""
    kind, _, rest = text.partition(" (")
    rest = rest.rstrip(")")
    if rest in _WEEKDAY_ZH:
        return f"{_KIND_ZH.get(kind, kind)}（以{_WEEKDAY_ZH[rest]}标日期）"
    if rest in ("period starts", "period ends"):
        return f"{_KIND_ZH.get(kind, kind)}（以期{'初' if rest == 'period starts' else '末'}标日期）"
    return _KIND_ZH.get(kind, kind)


def _promo_zh(note: str) -> str:
    """The promotion effect of a what-if note, in Chinese ("" when none was estimated)."""
    m = re.search(r"promotion effect of ([+-][\d.]+) \(x([\d.]+)\)", note)
    return f"和全店促销效应（{m.group(1)}，即 ×{m.group(2)}）" if m else ""


_N = r"([\d,]+)"
_PERIOD_ZH = {"week": "周", "month": "月", "quarter": "季度", "year": "年"}
# the periods an explanation counts (insights.explain.UNITS): daily notes read as before
_UNIT = r"(day|week|month|quarter|year)"
_UNITS = r"(days|weeks|months|quarters|years)"
_ZH_UNIT = {name: unit.zh for name, unit in UNITS.items()}  # 天, 周, 个月, ...
_ZH_EACH = {name: unit.zh_each for name, unit in UNITS.items()}  # 每天, 每周, ...
_ZH_ONE = {"day": "一天", "week": "一周", "month": "一个月", "quarter": "一个季度", "year": "一年"}
_ZH_TRAIN = {"day": "训练日", "week": "训练周", "month": "训练月", "quarter": "训练季度", "year": "训练年"}


def _unit(word: str) -> str:
    """'weeks' or 'week' -> 'week'."""
    return word[:-1] if word.endswith("s") else word


def _decomposition_zh(m: re.Match[str]) -> str:
    unit = _unit(m["unit"])
    if m["periods"] is not None:
        method = f"{m['method']}（周期 {m['periods']}）"
    else:
        method = f"LOWESS 趋势，无季节成分（年度季节需要 {m['need']} {_ZH_UNIT[unit]}历史）"
    masked = (f"{m['masked']} 个日历事件日" if unit == "day"
              else f"{m['masked']} 个含日历事件的{_ZH_UNIT[unit].removeprefix('个')}")
    return (f"{m['id']}：分解方法 {method}，已剔除 {masked}；趋势按最近 {m['n']} {_ZH_UNIT[unit]}的斜率"
            f"（{_ZH_EACH[unit]} {m['slope']} 件）延续")


def _calibrated_zh(m: re.Match[str]) -> str:
    """A Recommended model's quantile calibration note: methods and losses, in Chinese."""
    ranking = re.sub(r"(\S+) ([\d.]+)(?: \(bands off by ([\d.]+)\))?",
                     lambda r: f"`{r[1]}` {r[2]}" + (f"（区间覆盖偏差 {r[3]}）" if r[3] else ""), m[4])
    return f"{m[1]}：{m[2]} 的分位数已在验证窗口上按 `{m[3]}` 校准（交叉拟合的验证损失：{ranking}）"


def _drivers_kept_zh(m: re.Match[str]) -> str:
    verdict = "保留" if m["verdict"] == "kept" else "未保留"
    held = (f"（{m['best']} 汇总最优，但并非在每个验证窗口都优于 {m['other']}）" if m["best"] else "")
    return (f"{m['alias']}：外部因素（`{m['series']}`）{verdict}{held}：使用它们的最佳验证 WAPE 为 "
            f"{m['with']}（{m['with_model']}），不使用为 {m['without']}（{m['without_model']}）")
_ZH: list[Rule] = compile_rules([
    # trends
    (rf"{_N} missing dates inside series counted as zero sales", r"序列内部缺失的 \1 个日期按零销量计"),
    (rf"{_N} missing date\(s\) of {_N} series that sell every period counted as their recent level \(rows an "
     r"export most likely left out\)",
     r"\2 个每期都有销量的序列缺失的 \1 个日期按其近期水平计（很可能是导出时漏掉的行）"),
    (rf"{_N} missing dates inside series filled with zero sales", r"序列内部缺失的 \1 个日期已按零销量补齐"),
    (rf"{_N} negative sales \(returns\) counted as zero units sold", r"\1 个负销量（退货）按零销量计"),
    (r"no forecast run stored: calls use the history only .*", "尚无预测批次：趋势判断只用历史数据"
                                                                 "（运行 `trendcast forecast` 加入预测）"),
    (r"forecast run (\S+), model (\S+)", r"预测批次 `\1`，模型 \2"),
    (r"the run forecasts (.+?) periods: the stored (.+?) sales are summed into its whole periods for the "
     r"calls",
     lambda m: f"该批次按{_freq_zh(m[1])}预测：趋势判断把已保存的{_freq_zh(m[2])}销量汇总为它的完整各期"),
    (rf"forecast: mean of (\d+) complete {_UNIT}\(s\) ahead against the median of the last (\d+) {_UNIT}s?",
     lambda m: f"预测：未来 {m[1]} 个完整{UNITS[m[2]].zh_name}的{UNITS[m[2]].zh_mean}销量，与最近 {m[3]} "
               f"{UNITS[m[2]].zh}的中位数对比"),
    (rf"forecast: no complete {_UNIT} after (\S+) for any series; not used",
     lambda m: f"预测：{m[2]} 之后没有完整的{_ZH_ONE[m[1]]}，未使用预测"),
    (r"forecast: used the point column '(.+)' \(the last of .*\); pass forecast_col to choose another",
     r"预测：使用点预测列 \1"),
    (rf"{_N} series have less than a year \+ (\d+) {_UNIT}s? of history: yoy_growth is NaN and, without an "
     r"earlier year to compare, calls rest on the slope",
     lambda m: f"{m[1]} 个序列的历史不足一年又 {m[2]} {_ZH_UNIT[m[3]]}："
               "没有同比增长，趋势判断只依据斜率"),
    (rf"{_N} series have fewer than (\d+) complete {_UNITS} of sales \(or none\): called steady with "
     r"confidence 0 \(too_short\)",
     lambda m: f"{m[1]} 个序列的完整销售{UNITS[_unit(m[3])].zh_name}少于 {m[2]} {_ZH_UNIT[_unit(m[3])]}"
               "（或没有销量）：记为平稳，置信度 0"),
    (rf"every series starts selling in the data's first {_UNIT}, so none can be told apart as new .*",
     lambda m: f"所有序列都从数据的第一{UNITS[m[1]].zh}开始销售，无法识别新品（新兴需要在数据期内首次销售）"),
    (rf"{_N} series have no rows in their last days \(up to (\S+)\); those days count as zero sales",
     r"\1 个序列在最后几天（至 \2）没有记录，这些天按零销量计"),
    (rf"{_N} product\(s\) without a (\w+) are summed into the group 'unknown'",
     r"\1 个商品没有品类等归属，合并为“未知”组"),
    # sentiment
    (r"sentiment from star ratings: \(rating - 1\) / 4, 1-2 stars negative",
     "情感取自星级评分：(评分 − 1) / 4，1–2 星为差评"),
    (r"source auto: (\d+%) of the reviews have stars, so sentiment comes from the star ratings .*",
     r"自动选择：\1 的评论有星级，情感取自星级评分"),
    (r"source auto: (\d+%) of the reviews have stars, so sentiment comes from the review text .*",
     r"自动选择：\1 的评论有星级，情感取自评论文本"),
    (r"sentiment from the review text: .* trained on ([\d,]+) reviews; .*",
     r"情感取自评论文本：多语言文本向量模型加逻辑回归（以 \1 条评论训练），评分不保存"),
    (rf"{_N} review\(s\) without text: counted in volume, not in sentiment",
     r"\1 条评论没有文本：计入评论量，不计入情感"),
    (rf"{_N} review\(s\) without rating: counted in volume, not in sentiment",
     r"\1 条评论没有星级：计入评论量，不计入情感"),
    (r"alerts active on or after (\S+)", r"\1 及之后仍有效的预警"),
    (rf"{_N} alert\(s\); reviews up to (\S+)", r"共 \1 条预警；评论截至 \2"),
    # inventory
    (r"no stock file: order quantities and stock-out risks need on-hand stock .*",
     "未提供库存文件：建议订货量和缺货风险需要现有库存（`trendcast inventory --stock FILE`，"
     "列 `unique_id,on_hand`）"),
    (r"inventory: lead time (\S+) days and review period (\S+) days unless a stock file gives others .*",
     r"库存：除非库存文件另有指定，到货周期按 \1 天、盘点周期按 \2 天计算"),
    (r"used model (\S+) of .* \(choose with --model\)", r"库存建议使用模型 \1（可用 `--model` 选择）"),
    (r"run (\S+) starts on (\S+), not after the latest sales \((\S+)\): rerun .*",
     r"预测批次 `\1` 从 \2 开始，早于最新销量日期 \3：请重新运行 `trendcast forecast` 以获得最新建议"),
    (r"stock file columns ignored: (.*)", r"库存文件中未使用的列：\1"),
    (r"stock file columns read as: (.+)",
     lambda m: "库存文件的列按以下含义读取：" + "、".join(
         re.sub(r"^(.+) as (\w+)$", r"\1 → `\2`", part) for part in m[1].split(", "))),
    (rf"stock file column (\S+): {_N} value\(s\) shown as '-' read as 0; {_N} value\(s\) with thousands "
     r"separators read \(1,234 as 1234\)",
     r"库存文件的列 `\1`：\2 个显示为 '-' 的值按 0 读取；\3 个带千位分隔符的值已读取（1,234 即 1234）"),
    (rf"stock file column (\S+): {_N} value\(s\) shown as '-' read as 0",
     r"库存文件的列 `\1`：\2 个显示为 '-' 的值按 0 读取"),
    (rf"stock file column (\S+): {_N} value\(s\) with thousands separators read \(1,234 as 1234\)",
     r"库存文件的列 `\1`：\2 个带千位分隔符的值已读取（1,234 即 1234）"),
    (rf"{_N} subtotal line\(s\) of the stock file skipped \(e\.g\. (.+)\)",
     r"跳过了库存文件中的 \1 行小计（例如 \2）"),
    # inventory: order-up-to levels calibrated on backtests (services.inventory_calibrate)
    (r"order-up-to levels(?: for lead time (\d+) \+ review (\d+) days)? are uncalibrated \(negative "
     r"binomial of the forecast\): no backtest of (\S+) with quantiles is stored; to calibrate them on "
     r"past forecast errors, run `(.+)` and rerun inventory",
     r"订货上限未经校准（按预测自身的负二项分布）：尚无模型 `\3` 带分位数的回测；要用过去的预测误差"
     r"校准，请运行 `\4` 后重新计算库存建议"),
    (r"order-up-to levels(?: for lead time (\d+) \+ review (\d+) days)? are uncalibrated \(negative "
     r"binomial of the forecast\): no weekly \(([^)]+)\) backtest of (\S+) with quantiles is stored; to "
     r"calibrate them on past forecast errors, run `(.+)` and rerun inventory",
     lambda m: f"订货上限未经校准（按预测自身的负二项分布）：尚无模型 `{m[4]}` 带分位数的按周（"
               f"{_WEEKDAY_ZH.get(m[3], m[3])}）回测；要用过去的预测误差校准，请运行 `{m[5]}` "
               "后重新计算库存建议"),
    (r"order-up-to levels \(lead time (\d+) \+ review (\d+) days\) are uncalibrated: a weekly "
     r"\(([^)]+)\) run is calibrated when lead time and review are whole periods of 7 days",
     r"订货上限（到货周期 \1 天 + 盘点周期 \2 天）未经校准：按周预测只有在到货周期和盘点周期都是整周"
     r"（7 天的整数倍）时才能校准"),
    (r"order-up-to levels(?: for lead time (\d+) \+ review (\d+) days)? are uncalibrated \(negative "
     r"binomial of the forecast\): backtest run\(s\) (.+) are shorter than lead time \+ review = "
     rf"{_N} (days|periods) and cannot calibrate; to calibrate them on past forecast errors, run `(.+)` and "
     r"rerun inventory",
     lambda m: f"订货上限未经校准（按预测自身的负二项分布）：回测 `{m[3]}` 短于到货周期加盘点周期（{m[4]} "
               f"{'天' if m[5] == 'days' else '期'}），无法校准；请运行 `{m[6]}` 后重新计算库存建议"),
    (r"order-up-to levels(?: for lead time (\d+) \+ review (\d+) days)? are uncalibrated \(negative "
     r"binomial of the forecast\): every backtest window of (\S+) ends on or after the forecast's "
     r"first day (\S+) \(cutoffs (.+)\), so none can be used; to calibrate them on past forecast "
     r"errors, run `(.+)` and rerun inventory",
     r"订货上限未经校准（按预测自身的负二项分布）：模型 `\3` 的回测窗口（截点 \5）都在预测首日 \4 "
     r"或之后结束，不能使用；请运行 `\6` 后重新计算库存建议"),
    (r"order-up-to levels(?: for lead time (\d+) \+ review (\d+) days)? are uncalibrated: "
     rf"{_N} backtest window\(s\) of (\S+) give too few review cases per sales-volume band for "
     rf"service level\(s\) (.+) \(up to {_N} per band needed\); run `(.+)` for more cases",
     r"订货上限未经校准：模型 `\4` 的 \3 个回测窗口在各销量档中的盘点样本太少，不足以校准服务水平 "
     r"\5（每档最多需要 \6 个）；请运行 `\7` 以获得更多样本"),
    (r"backtest cutoff\(s\) (.+) left out of the calibration: their windows end on or after the "
     r"forecast's first day (\S+)",
     r"回测截点 \1 未用于校准：其窗口在预测首日 \2 或之后结束"),
    # inventory on weekly / monthly runs (services.inventory)
    (r".+? forecasts: lead time (\d+) d \+ review (\d+) d cover ([\d.]+) period\(s\) of ([\d.]+) days "
     r"\(a period's demand spread evenly over its days\), likewise a stock file's days",
     r"非按日预测：到货周期 \1 天 + 盘点周期 \2 天合 \3 个预测期（每期 \4 天，期内需求按天均摊），"
     r"库存文件中的天数同样处理"),
    (r".+? forecasts: lead time (\d+) d \+ review (\d+) d take their share of each period's own days, a "
     r"period's demand weighted by the shop's daily sales on the (same dates a year|same weekdays 52 weeks) "
     r"before \(evenly where there are none\); likewise a stock file's days",
     lambda m: f"非按日预测：到货周期 {m[1]} 天 + 盘点周期 {m[2]} 天按各期自身的天数折算，一期的需求按店铺"
               f"{'上一年同日' if m[3].startswith('same dates') else '52 周前同一星期几'}的每日销量分配到各天"
               "（无历史数据处平均分配），库存文件中的天数同样处理"),
    (r".+? forecasts: lead time (\d+) d \+ review (\d+) d take their share of each period's own days, a "
     r"period's demand spread evenly over its days; likewise a stock file's days",
     r"非按日预测：到货周期 \1 天 + 盘点周期 \2 天按各期自身的天数折算，一期的需求按天平均分配，"
     r"库存文件中的天数同样处理"),
    (r"the run's first (week|month|quarter|year) \((\S+)\) is under way: sales to (\S+) are in, so lead time "
     r"and review count from (\S+), with the share of that (?:week|month|quarter|year) still to come",
     lambda m: f"该批次的第一个{_PERIOD_ZH[m[1]]}（{m[2]}）尚未结束：销量已到 {m[3]}，"
               f"所以到货周期和盘点周期从 {m[4]} 起算，只计该期余下部分的份额"),
    (r"order-up-to levels are uncalibrated: calibration on backtests is for daily and weekly runs",
     r"订货上限未经校准：基于回测的校准只适用于按日和按周的预测"),
    (r"order-up-to levels are uncalibrated: calibration on backtests is for daily and weekly runs, from the "
     r"start of a week \(the run's first is under way\)",
     r"订货上限未经校准：基于回测的校准只适用于按日和按周的预测，且须从一周的开始算起（该批次的第一周尚未结束）"),
    # external series given per product by a catalogue key (features.exog.keyed_drivers)
    (r"external series (.+) given per product by its (\S+) \((\d+) indicator\(s\) x (\d+) key\(s\), "
     r"named INDICATOR:KEY\)",
     r"外部序列 `\1` 按商品的 `\2` 分别取值（\3 个指标 × \4 个键，名称为 指标:键）"),
    (rf"external series (.+) left out here: {_N} of {_N} products have no (\S+) among its keys",
     r"外部序列 `\1` 在此未使用：\3 个商品中有 \2 个的 `\4` 不在其键中"),
    (r"external series named INDICATOR:KEY \((.+)\) match no product's store, department, category, "
     r"brand or id: .*",
     r"名称为 指标:键 的外部序列（`\1`）与任何商品的门店、部门、品类、品牌或编号都不对应：每个都作为所有商品"
     r"共用的一个序列（导入商品目录时用 `--map store=...` 可让每个商品使用自己的序列）"),
    (r"external driver ['\"](.+)['\"] \((\S+)\) as given for the horizon \(stored beyond it\)",
     r"外部因素 `\1`（`\2`）：预测期内按已存储的值使用（数据覆盖到预测期之后）"),
    (r"external driver ['\"](.+)['\"] \((\S+)\) lagged (\d+) period\(s\) so each value was published at "
     r"the forecast's cutoff",
     r"外部因素 `\1`（`\2`）滞后 \3 期使用，每个值在预测截点时都已公布"),
    (r"external series ['\"](.+)['\"] left out: nothing of it was published before the forecast's first "
     r"period", r"外部序列 `\1` 未使用：预测首期之前没有任何已公布的值"),
    # a Recommended model's choice (models.ensemble.Recommended)
    (r"(\S+): chose (\S+) by validation WAPE over (\d+) window\(s\) of (\d+) steps \((.+)\)",
     r"\1：按验证 WAPE 选择 \2（\3 个验证窗口，每个 \4 期；\5）"),
    (r"(\S+): too little history to compare members; used (\S+)",
     r"\1：历史太短，无法比较候选模型；使用 \2"),
    (r"(\S+): left out (\S+) \(a season of (\d+) periods makes it slow; run it with --model (\S+) to "
     r"compare\)", r"\1：未比较 \2（\3 期的季节使其过慢；用 `--model \4` 单独运行以比较）"),
    (r"(?P<alias>\S+): external drivers \((?P<series>.+)\) (?P<verdict>kept|not kept)(?: \((?P<best>\S+) was "
     r"best pooled but not better than (?P<other>\S+) in every validation window\))?: best validation WAPE "
     r"with them (?P<with>[\d.]+) \((?P<with_model>\S+)\), without (?P<without>[\d.]+) "
     r"\((?P<without_model>\S+)\)", _drivers_kept_zh),
    (r"(\S+): external drivers \((.+)\) could not be compared on validation",
     r"\1：外部因素（`\2`）无法在验证窗口上比较"),
    (r"(\S+): quantiles of (\S+) calibrated on the validation windows by (\S+) \(cross-fitted "
     r"validation loss: (.+)\)", _calibrated_zh),
    (rf"(\S+): fitted on sales clipped at zero \({_N} negative values, e\.g\. returns, that its loss "
     r"cannot take\)",
     r"\1：拟合时销量在零处截断（\2 个负值，例如退货，其损失函数不能处理）"),
    (rf"order-up-to levels of {_N} of {_N} products calibrated on {_N} backtest window\(s\) of (\S+) "
     rf"\(cutoffs (.+); {_N} review cases\): on those cases they cover ([\d.]+%) of review cycles "
     r"without a stock-out for (?:a target of|targets averaging) ([\d.]+%) \(the uncalibrated "
     r"forecast ([\d.]+%)\); fitted and checked on the same cases, so a little optimistic",
     r"\2 个商品中 \1 个的订货上限已用模型 `\4` 的 \3 个回测窗口（截点 \5；\6 个盘点样本）校准：在这些样本上"
     r"有 \7 的盘点周期不缺货，目标为 \8（未校准的预测为 \9）；校准与检验用的是同一批样本，结果略偏乐观"),
    (rf"{_N} product\(s\) keep uncalibrated levels \(policy 'nbinom'\): too few backtest cases in "
     r"their sales-volume band for their service level, or a service level outside \(0, 1\)",
     r"\1 个商品保留未校准的订货上限（`nbinom`）：其销量档的回测样本不足以校准其服务水平，"
     r"或服务水平不在 (0, 1) 之内"),
    (rf"{_N} stock row\(s\) have no forecast in run (\S+) and were left out: (.*)",
     r"\1 行库存在预测批次 `\2` 中没有预测，已略去：\3"),
    # forecast run
    (r"future prices held at each product's last regular \(non-promotion\) price",
     "预测期内价格按各商品最近一次常规（非促销）价格计"),
    (r"no promotions assumed in the forecast horizon", "假设预测期内没有促销"),
    # what-if plans (features.scenario, insights.scenario)
    (r"(.+) take\(s\) no covariates: the plan cannot change its forecast, so it has no scenario .*",
     r"\1 不使用协变量：计划无法改变其预测，因此没有情景预测（情景请用 LightGBM 或 Chronos2）"),
    (r"intervals are (\d+)% \(([\d.]+) and ([\d.]+) quantiles\); horizon totals add each period's bounds, .*",
     r"区间为 \1%（\2 与 \3 分位数）；整个预测期的合计把每期的上下界相加，区间因此偏宽"),
    (r"unit cost assumed (\d+)% of the regular price for (\d+) of (\d+) planned product\(s\) .*",
     r"\3 个计划商品中有 \2 个没有目录单位成本，按常规价格的 \1% 计"),
    (r"the sales have no prices: revenue and margin are not known", "销量数据没有价格：销售额和毛利未知"),
    (r"the sales have no prices: the plan's prices and discounts cannot change the forecast .*",
     "销量数据没有价格：计划中的价格和折扣无法改变预测（导入带 price 列的销量）"),
    (r"the sales have no promo column: the plan's promotions cannot change the forecast",
     "销量数据没有促销列：计划中的促销无法改变预测"),
    (r"event '(.+)': its flag\(s\) (.*) never occur in the history, so the model cannot use them",
     r"活动“\1”：其标记 \2 在历史中从未出现，模型无法使用"),
    (r"the plan's products were not forecast \(ended series\?\): no scenario",
     "计划中的商品没有被预测（序列已结束？）：没有情景预测"),
    (r"what-if \((.+)\): the plan's prices and promotions move each model's baseline forecast by .*? "
     r"Elasticities of the ([\d,]+) planned product\(s\): median (\S+) \(range (\S+) \.\. (\S+); .*",
     lambda m: f"情景（{m.group(1)}）：计划的价格与促销按各商品估计的价格弹性"
               + _promo_zh(m.group(0)) + "调整各模型的基线预测（点预测与各分位数乘以同一系数）；"
               f"{m.group(2)} 个计划商品的弹性中位数 {m.group(3)}（范围 {m.group(4)} 至 {m.group(5)}）"),
    (r"what-if \((.+)\): the plan's prices, promotions and events go through each model's own "
     r"response to the planned covariates .*",
     r"情景（\1）：计划的价格、促销和活动通过各模型自身对计划协变量的响应体现"),
    (r"what-if: no product has enough price changes .*",
     "情景：没有商品有足够的调价次数来估计价格弹性（或销量没有价格），计划通过各模型自身的响应体现"),
    (r"what-if: the plan sets promotions but no promotion effect can be estimated .*",
     "情景：计划含促销，但无法估计促销效应，计划通过各模型自身的响应体现"),
    (r"what-if: price elasticities are estimated on daily sales, .*",
     "情景：价格弹性只能在日销量上估计，计划通过各模型自身的响应体现"),
    (r"(\S+): quantiles crossed on ([\d,]+) rows and were sorted", r"\1：\2 行分位数交叉，已排序"),
    (r"(\S+) chose per series by backtest: (.*)", r"\1 按回测为每个序列选择模型：\2"),
    (r"(\S+): ([\d,]+) series got the non-seasonal version of the model .*\((.*)\)",
     r"\1：\2 个序列不足两个季节周期，改用该模型的非季节版本（\3）"),
    (r"(\S+): ([\d,]+) series got the window average .*\((.*)\)",
     r"\1：\2 个序列太短或没有有限的预测，改用窗口平均（\3）"),
    (r"(\S+): ([\d,]+) series got the last value .*\((.*)\)",
     r"\1：\2 个序列只有一个观测，改用最后一个值（\3）"),
    (r"(\S+): ([\d,]+) series got the zero forecast .*\((.*)\)",
     r"\1：\2 个序列完全没有销量，预测为零（\3）"),
    (rf"{_N} series ended \(no sales(?: since (\S+))?\) and were not forecast: (.*) \(ended_after .*\)",
     lambda m: f"{m[1]} 个序列已停售" + (f"（{m[2]} 起无销量）" if m[2] else "") + f"，未做预测：{m[3]}"),
    (rf"backtest: {_N} period\(s\) in the windows read as a series' recent level have no actual row and are "
     r"not scored", r"回测：窗口中按序列近期水平读取的 \1 期没有实际数据行，不参与评分"),
    (rf"{_N} series have periods without a row though they sold in every period before, and so long "
     r"without a sale is improbable for them: the models read those periods as their recent level "
     r"\((.*)\); if the export left their rows out, ingest them",
     lambda m: f"{m[1]} 个序列有几期没有数据，但此前每期都有销量，这么久没有销量不太可能："
               "模型按其近期水平读取这几期（" + m[2].replace(" and ", " 另有 ").replace(" more", " 个")
               .replace("; the latest ", "；最近一期 ") + "）；如果是导出时漏掉了这些行，请补充导入"),
    (rf"{_N} series have no rows for their last periods, filled with zero sales up to the catalogue's last "
     r"date \((.*)\); a product that stopped selling is left out by ended_after",
     lambda m: f"{m[1]} 个序列最后几期没有数据，已按零销量补到整体的最后日期（"
               + m[2].replace(" and ", " 另有 ").replace(" more", " 个")
               + "）；已停售的商品可用 `--ended-after` 排除"),
    (r"(.+) trained on a seeded sample of ([\d,]+) of ([\d,]+) series \(train_series\) and forecast for all "
     r"of them", r"\1 在 \3 个序列中随机抽取的 \2 个上训练，并为全部序列预测"),
    (r"(.+) learn\(s\) across series and ran on all series in one task, not partition by partition",
     r"\1 跨序列学习，在一个任务中处理全部序列"),
    (r"forecast from saved model version (\S+) \(trained on data to (\S+); models moved forward to the "
     r"latest data, not refitted\)",
     r"使用已保存的模型版本 `\1` 预测（训练数据截至 \2；模型前推到最新数据，未重新训练）"),
    (rf"{_N} series were not in the version \((.*)\): per-series models were fitted on them now, global "
     r"models applied to them",
     r"\1 个序列不在该版本中（\2）：已为其拟合单序列模型，全局模型直接应用"),
    (r"the calendar's last event is on (\S+) but the forecast runs to (\S+): .*",
     r"日历的最后一个事件在 \1，而预测到 \2：之后的节假日按无计（运行 `trendcast festivals --end ...`）"),
    (r"cold start: ([\d,]+) new product\(s\) \(not launched yet, or launched fewer than (\d+) days before "
     r"(\S+)\) forecast by every model from their category's launch curve, price band and weekday profile, "
     r"not from their own history: (.*); learnt from ([\d,]+) launches inside the data",
     r"冷启动：\1 个新品（尚未上市，或在 \3 前上市不足 \2 天）按所属品类的上市曲线、价格带和星期规律预测，"
     r"而非自身历史：\4；从数据中的 \5 次上市学习"),
    (r"cold start: (?:([\d,]+) new product\(s\) \((.*?)\) keep the models' forecasts)?(?:; )?(?:([\d,]+) "
     r"without sales \((.*?)\) are not forecast)?: no launch curve could be learnt \((.*)\)",
     lambda m: "冷启动：" + "；".join(
         ([f"{m[1]} 个新品（{m[2]}）沿用模型预测"] if m[1] else [])
         + ([f"{m[3]} 个没有销量的商品（{m[4]}）不做预测"] if m[3] else [])) + "：无法学习上市曲线"
               + _cold_reason(m[5])),
    (r"cleaning: no stock-out days or outliers found; the models saw the sales as stored",
     "清洗：未发现缺货日或异常值，模型使用原始销量"),
    (rf"calendar: {_N} event row\(s\) of {_N} regions \((.+?)\) not used as flags for every product: .*",
     r"日历：\2 个地区的 \1 行事件（`\3`）未作为所有商品的共同标志：商品并不在每个地区；"
     r"无地区或全国性的事件照常使用"),
    (r"the workspace has no calendar events: .*",
     "工作区没有日历事件，模型不知道节假日（运行 `trendcast festivals`）"),
    # explanations
    (rf"(?P<id>[^:]+): effects are shares of the recent (\d+)-{_UNIT} level ([\d.,]+) units/\3; they add "
     r"up to the forecast's change against it",
     lambda m: f"{m['id']}：各项影响为最近 {m[2]} {_ZH_UNIT[m[3]]}平均水平（{_ZH_EACH[m[3]]} {m[4]} 件）"
               "的百分比，相加即预测相对该水平的变化"),
    (r"(?P<id>[^:]+): decomposition: (?:(?P<method>MSTL|STL) with periods \((?P<periods>[\d, ]+)\)|LOWESS "
     r"trend, no season \(a yearly season needs (?P<need>\d+) \w+ of history\)) after masking "
     rf"(?P<masked>\d+) calendar-event (?P<unit>{_UNITS[1:-1]}); trend continued at the last (?P<n>\d+) "
     r"(?P=unit)' slope \((?P<slope>[-+][\d.]+) units/\w+\)", _decomposition_zh),
    (r"(?P<id>[^:]+): festival effects are mean residuals on past days of the same event; 'other' is "
     r"what (\S+) adds beyond these components",
     r"\g<id>：节日影响为以往同一节日当天的平均残差；“其他”为 \2 在这些成分之外的部分"),
    (rf"(?P<id>[^:]+): festival effects are mean residuals on past {_UNITS} with the same event; 'other' "
     r"is what (\S+) adds beyond these components",
     lambda m: f"{m['id']}：节日影响为以往含同一节日的{_ZH_UNIT[_unit(m[2])].removeprefix('个')}的平均残差；"
               f"“其他”为 {m[3]} 在这些成分之外的部分"),
    (r"(?P<id>[^:]+): on (\S+) the history shows ([-+−]\d+%) for the event, but (\S+)'s forecast does not "
     r"carry it \('other' ([-+−]\d+%)\)",
     r"\g<id>：\2 历史上该节日带来 \3，但 \4 的预测没有体现（“其他” \5）"),
    (r"(?P<id>[^:]+): no past occurrence in the history to measure \(counted as 0\): (.*)",
     r"\g<id>：历史中没有可衡量的往期（按 0 计）：\2"),
    (rf"(?P<id>[^:]+): effects are factors against the model's typical recent {_UNIT} for \S+ \(([\d.,]+) "
     rf"units: the geometric mean of its in-sample predictions over the last (\d+) training {_UNITS}\); "
     r"they multiply to the forecast",
     lambda m: f"{m['id']}：各项影响为相对模型近期典型{_ZH_ONE[m[2]]}（{m[3]} 件，最近 {m[4]} 个"
               f"{_ZH_TRAIN[m[2]]}样本内预测的几何平均）的倍数，相乘即预测"),
    (r"(?P<id>[^:]+): a feature that does not change \(the product group\) can still move through its "
     r"interactions with the others", r"\g<id>：不变的特征（商品组）仍可能通过与其他特征的交互产生影响"),
    (rf"(?P<id>[^:]+): effects are factors on the model's average prediction ([\d.,]+) units \(an average "
     rf"product-{_UNIT} in training\); they multiply to the forecast",
     lambda m: f"{m['id']}：各项影响为相对模型平均预测（{m[2]} 件，训练集中平均每商品{_ZH_EACH[m[3]]}）"
               "的倍数，相乘即预测"),
    (r"(?P<id>[^:]+): (\S+) does not use the workspace's external series \((.+)\); explain with --model "
     r"(\S+) to see them as a driver",
     r"\g<id>：\2 未使用工作区的外部序列（`\3`）；用 `--model \4` 解释可看到它们作为驱动因素"),
    (r"(?P<id>[^:]+): (\S+) chose (\S+), which learns from the workspace's external series; this "
     r"explanation does not separate them: explain with --model (\S+) to see them as a driver",
     r"\g<id>：\2 选择了 \3，它使用工作区的外部序列；本解释不单独列出它们：用 `--model \4` "
     r"解释可看到它们作为驱动因素"),
    (r"stored (.+?) sales aggregated to (.+?) periods \(units summed, prices averaged\)"
     r"(?:; the last, incomplete period after (\S+) was left out)?"
     r"(?:; the first, incomplete period before (\S+) was left out)?",
     lambda m: f"已保存的{_freq_zh(m[1])}销量按{_freq_zh(m[2])}汇总（件数相加，价格取平均）"
               + (f"；{m[3]} 之后不完整的最后一期未计入" if m[3] else "")
               + (f"；{m[4]} 之前不完整的第一期未计入" if m[4] else "")),
    # why a section is empty (services.report)
    (r"the products have no category", "商品没有品类信息"),
    (r"not requested", "未要求生成"),
    (r"trend detection reads daily, weekly, monthly or quarterly sales; these dates are mostly ([\d,]+) days "
     r"apart", r"趋势识别只读取日度、周度、月度或季度销量；这些日期大多相隔 \1 天"),
    (r"the workspace has no reviews .*", "工作区没有评论（`trendcast ingest FILE --kind reviews`）"),
])


def _names(text: str, lang: str) -> str:
    if lang != "zh":
        return text
    for pattern, repl in _NAMES:
        text = pattern.sub(repl, text)  # type: ignore[arg-type]
    return text


# "P1: <note>": a note about one product (the report's explanations) is its note with the id
_ABOUT = re.compile(r"^([^:\s]+): (.+)$", re.S)


def _zh(note: str) -> str | None:
    zh = apply_rules(note, _ZH)
    if zh is not None:
        return zh
    about = _ABOUT.match(note)
    if about:
        inner = _zh(about[2])
        if inner is not None:
            return f"{about[1]}：{inner}"
    return None


def localize_note(note: str, lang: str) -> str:
    """``note`` in ``lang``: English notes are returned as they are; for ``zh`` the known
    patterns are translated (also after a product id, ``P1: ...``), and an unknown note is
    kept, marked as the original English."""
    if lang != "zh":
        return note
    note = _names(note.strip(), lang)
    zh = _zh(note)
    return zh if zh is not None else f"（英文原文）{note}"


def localize_reason(section_label: str, reason: str, lang: str) -> str:
    """The note that a section is empty: its label, then the reason in ``lang``."""
    sep = "：" if lang == "zh" else ": "
    return f"{section_label}{sep}{localize_note(reason, lang)}"


def localize_text(text: str, lang: str) -> str:
    """Running text written in ``lang`` that may carry names the libraries wrote in English."""
    return _names(text, lang)


def known(note: str) -> bool:
    """Whether a Chinese pattern knows ``note``."""
    return _zh(_names(note.strip(), "zh")) is not None


# Which model represents a run (services.run_choice): its reason, then the notes that carry it.
_REASONS: list[Rule] = compile_rules([
    (r"(.+): the lowest MASE \(([\d.]+)\) of this run's models in backtest (\S+)",
     r"\1：本批次模型在回测 `\3` 中 MASE 最低（\2）"),
    (r"no backtest scored this run's models; (\S+) is the default model",
     r"没有回测评估过本批次的模型；使用默认模型 \1"),
    (r"no backtest scored this run's models and it has no (\S+): its first model, (.+)",
     r"没有回测评估过本批次的模型，且本批次没有 \1：使用其第一个模型 \2"),
])


def _reason_zh(reason: str) -> str:
    zh = apply_rules(reason, _REASONS)
    return zh if zh is not None else f"（英文原文）{reason}"


_ZH[:0] = [
    (re.compile(r"^model shown: (.+) \(--model to show another\)$"),
     lambda m: f"展示的模型：{_reason_zh(m.group(1))}（用 `--model` 展示其他模型）"),
    (re.compile(r"^model shown: (\S+), as asked; the run's own choice is (.+)$"),
     lambda m: f"展示的模型：{m.group(1)}（按要求）；本批次自己的选择是 {_reason_zh(m.group(2))}"),
    (re.compile(r"^leaderboard: backtest (\S+); a model with no metrics there was not backtested$"),
     r"排行榜：回测 `\1`；没有指标的模型未参加该回测"),
    (re.compile(r"^forecast run (\S+), model (\S+) \((.+)\)$"),
     lambda m: f"预测批次 `{m.group(1)}`，模型 {m.group(2)}（{_reason_zh(m.group(3))}）"),
]


def _cold_reason(reason: str) -> str:
    """Why cold start learnt no launch curve, in Chinese (empty when the reason is not known)."""
    few = re.fullmatch(r"cold start: ([\d,]+) product\(s\) launched inside the data \((\S+) \+ (\d+) days "
                       r"\.\. (\S+)\); a launch curve needs at least (\d+)", reason)
    if few:
        return (f"（数据中（{few[2]} 后 {few[3]} 天起至 {few[4]}）只有 {few[1]} 个商品上市，"
                f"学习上市曲线至少需要 {few[5]} 个）")
    if reason.startswith(("no product launched inside the data", "cold start: no product launched")):
        return "（数据中没有上市的商品）"
    return ""
