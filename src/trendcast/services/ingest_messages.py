"""An ingest's notes and refusals in the reader's language.

The ingest writes its notes and errors in English (the CLI, the API's default answer and the
logs share them); an upload made from the Chinese dashboard reads them in Chinese, as it does
the upload's own checks (api.upload, api.parsing) and the inventory page a stock file's refusal
(services.inventory.read_stock). A message is translated line by line with the pattern machinery
of the report's notes (:mod:`trendcast.insights.report_notes`): file names, values, row and line
numbers, column names and option spellings (``--decimal ,``, ``--map ds=...``) are carried over
as written, and a line no pattern knows stays in English as it is.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from trendcast.insights.report_notes import Rule, apply_rules, compile_rules

# The kinds of data as the dashboard names them (dashboard.i18n kind_*).
_KIND = {"sales": "销量", "products": "商品目录", "orders": "订单", "events": "用户行为",
         "reviews": "评价", "calendar": "日历事件", "macro": "宏观指标", "stock": "库存"}
_N = r"([\d,]+)"
_WHERE = r"row \d+(?: \(line \d+\))?"
_ROW = re.compile(r"\brow (\d+) \(line (\d+)\)|\brow (\d+)")


def _rows(text: str) -> str:
    """'row 3 (line 4)' -> '第 3 行数据（文件第 4 行）' wherever it occurs in ``text``."""
    return _ROW.sub(lambda m: f"第 {m[1]} 行数据（文件第 {m[2]} 行）" if m[1] else f"第 {m[3]} 行数据", text)


def _examples(text: str) -> str:
    """'row 1 (line 2): -3, row 5 (line 6): -1' in Chinese."""
    return _rows(text).replace("）: ", "）：").replace("据: ", "据：").replace(", 第", "，第")


_ROWS_OF = {"product": "商品", "indicator": "指标"}
_PERIOD_LABEL = {"ISO week": " ISO 周标签", "quarter": "季度标签", "date range": "日期区间",
                 "month": "月份标签"}
_PERIOD_DAY = {"week's Monday": "该周的周一", "quarter's first day": "该季度的第一天",
               "range's last day": "区间的最后一天", "month's first day": "该月的第一天"}


def _kind(name: str) -> str:
    return _KIND.get(name, name)


def _as(expected: str) -> str:
    """'应为' + ``expected``, spaced before a date or a name."""
    return f"应为 {expected}" if expected[:1].isascii() else f"应为{expected}"


def _got(value: str) -> str:
    return "为空" if value == "empty" else f"为 {value}"


def _or(formats: str) -> str:
    """'%d/%m/%Y or %m/%d/%Y' -> '%d/%m/%Y 或 %m/%d/%Y' (the formats as written)."""
    return formats.replace(" or ", " 或 ")


def _with(rule: Callable[[re.Match[str], str], str]) -> Callable[[re.Match[str]], str | None]:
    """A rule that translates the match's first group as an expected value, then builds the
    sentence around it; it does not apply when that value is unknown."""
    def repl(m: re.Match[str]) -> str | None:
        inner = expected_zh(m[1])
        return None if inner is None else rule(m, inner)
    return repl


_WHAT = {"a number": "数字", "a finite number": "有限的数字",
         "a rating on the scale (--rating-scale)": "评分（评分范围用 --rating-scale 设置）"}


def _bound(template: str) -> Callable[[re.Match[str]], str | None]:
    def repl(m: re.Match[str]) -> str | None:
        what = _WHAT.get(m["what"])
        return None if what is None else m.expand(template).replace("{what}", what)
    return repl


_KIND_ZH = {"monthly": "月度", "quarterly": "季度", "yearly": "年度", "weekly": "周度"}
_EDGE_ZH = {"first day": "第一天", "last day": "最后一天", "Monday": "周一", "Tuesday": "周二",
            "Wednesday": "周三", "Thursday": "周四", "Friday": "周五", "Saturday": "周六", "Sunday": "周日"}


def _freq_words(text: str) -> str | None:
    """'monthly (period ends)' / 'weekly (Fridays)' (features.frequency.describe) in Chinese."""
    m = re.fullmatch(r"(\w+) \((?:period (starts|ends)|(\w+))\)", text)
    if m is None or m[1] not in _KIND_ZH:
        return None
    if m[2]:
        return f"{_KIND_ZH[m[1]]}（按{'期初' if m[2] == 'starts' else '期末'}标日期）"
    return f"{_KIND_ZH[m[1]]}（{_EDGE_ZH.get(m[3].removesuffix('s'), m[3])}）"


def _calendar_expected(m: re.Match[str]) -> str | None:
    freq, edge = _freq_words(m[1]), _EDGE_ZH.get(m[2])
    if freq is None or edge is None:
        return None
    return f"工作区日历上的日期：它的销量是{freq}，每期以其{edge}为日期"


def _relabelled(m: re.Match[str]) -> str | None:
    kind, edge = _KIND_ZH.get(m[4]), _EDGE_ZH.get(m[3])
    if kind is None or edge is None:
        return None
    side = "最后一天" if m[2] == "last" else "第一天"
    return (f"ds：{m[1]} 个落在所在期{side}的日期按该期读取，并像这个{kind}工作区一样以该期的{edge}为日期"
            f"（例如 {m[5]} → {m[6]}）")


# What a value was expected to be (data.validation, data.contract, data.readers), as the
# message's "expected ..." says it.
_EXPECTED: list[Rule] = compile_rules([
    (r"a non-empty text value", "非空的文本"),
    (r"a date like 2024-06-18", "形如 2024-06-18 的日期"),
    (r"a date-time like 2024-06-18 20:15:00", "形如 2024-06-18 20:15:00 的日期时间"),
    (r"a number", "数字"),
    (r"a number \(a rating\)", "数字（评分）"),
    (r"a rating out of (\S+) \((.+) is out of (\S+): pass --rating-scale (\S+) or (\S+)\)",
     r"满分为 \1 的评分（\2 的满分是 \3：请用 --rating-scale \4 或 \5）"),
    (r"a finite number \(not inf or NaN\)", "有限的数字（不能是 inf 或 NaN）"),
    (r"a number other than 0", "不为 0 的数字"),
    (r"a number, not true/false", "数字，不能是 true/false"),
    (r"a date on the day of the week written beside it \(they disagree: a day and month swapped\?\)",
     "与旁边所写星期几一致的日期（两者不一致：日和月是否颠倒了？）"),
    (r"text, not true/false", "文本，不能是 true/false"),
    (r"a single value, not a list or object", "单个值，不能是列表或对象"),
    (r"text, not binary bytes", "文本，不能是二进制字节"),
    (r"text without control characters \(NUL, tab, line breaks\)", "不含控制字符（NUL、制表符、换行）的文本"),
    (r"text without NUL bytes \(\\x00\)", r"不含 NUL 字节（\\x00）的文本"),
    (r"a date on the workspace's calendar: its sales are (.+), each period dated by its (.+)",
     _calendar_expected),
    (r"a number \(negative only for a return or a refund\)", "数字（只有退货或退款的金额可以为负）"),
    (r"a number >= 0 \((\S+) is positive: a sale; only a return or a refund has a negative amount\)",
     r"不小于 0 的数字（\1 是正数，是销售：只有退货或退款的金额可以为负）"),
    (r"a number <= 0 \((\S+) is negative, a return: its amount is the refund\)",
     r"不大于 0 的数字（\1 是负数，是退货：它的金额就是退款）"),
    (r"a rating on the scale \(--rating-scale\) >= 1; this column holds only 0 and 1: a 0/1 label reads "
     r"with --rating-scale 0-1", "不小于 1 的评分（评分范围用 --rating-scale 设置）；该列只有 0 和 1："
                                 "0/1 标签请用 --rating-scale 0-1"),
    (r"(?P<what>.+) >= (\S+)", _bound(r"不小于 \2 的{what}")),
    (r"(?P<what>.+) > (\S+)", _bound(r"大于 \2 的{what}")),
    (r"(?P<what>.+) <= (\S+) \(the documented upper bound\)",
     _bound(r"不大于 \2 的{what}（文档规定的上限）")),
    (r"(?P<what>.+) <= (\S+) and >= (\S+)", _bound(r"在 \3 到 \2 之间的{what}")),
    (r"(.+) \(returns\? pass --negatives keep, clip or zero\)",
     _with(lambda m, e: f"{e}（如果是退货：用 --negatives keep、clip 或 zero）")),
    (r"(.+) \(backorders\? pass --negatives zero to read them as out of stock\)",
     _with(lambda m, e: f"{e}（如果是超卖欠货：用 --negatives zero 按缺货读取）")),
    (r"(.+), not empty", _with(lambda m, e: f"{e}，不能为空")),
    (r"(.+) in the column's one currency \((.+); it also has (.+)\): convert the amounts to one currency "
     r"first",
     _with(lambda m, e: f"{e}，且全列为同一种货币（{m[2]}；该列还有 {m[3]}）：请先把金额换算成同一种货币")),
    (r"one of (.+)", r"以下之一：\1"),
    (r"(.+) \(it has thousands separators, a decimal comma or a currency sign: pass --decimal \. for "
     r"1,234\.50 or --decimal , for 1\.234,50\)",
     _with(lambda m, e: f"{e}（它带千位分隔符、小数逗号或货币符号：1,234.50 这种写法用 --decimal .，"
                        "1.234,50 这种写法用 --decimal ,）")),
    # repeated keys (data.validation.DUPLICATE_HINTS)
    (r"a unique key \(another row has the same key\)", "唯一的键（另有一行的键与它相同）"),
    (r"a unique key \(another row has the same key; a file of order lines: ingest it as orders "
     r"\(--kind orders, with its order id\) and --aggregate D; sales per store or channel: put it in "
     r"the key, e\.g\. --map unique_id=SKU\+Store\)",
     "唯一的键（另有一行的键与它相同；如果是订单明细：按订单导入（--kind orders，带订单号）并加 "
     "--aggregate D；如果是分门店或分渠道的销量：把门店或渠道放进键里，例如 --map unique_id=SKU+Store）"),
    (r"a unique key \(another row has the same key; an order with the same product on two lines "
     r"\(sizes, colours\): put the line or variant in a key, e\.g\. --map order_id=Order\+Line or "
     r"--map unique_id=Product\+SKU\)",
     "唯一的键（另有一行的键与它相同；同一订单的同一商品分成了两行（尺码、颜色）：把行号或款式放进键里，"
     "例如 --map order_id=Order+Line 或 --map unique_id=Product+SKU）"),
    (r"a unique key \(another row has the same key; (\S+) holds numbers of (\d+) digits ending in zeros "
     r"\((\d+)\): Excel keeps 15 digits and rounds the rest, so different ones became one; format the "
     r"column as text before saving, or export it again\)",
     r"唯一的键（另有一行的键与它相同；\1 是以零结尾的 \2 位数字（\3）：Excel 只保留 15 位有效数字，"
     r"其余四舍五入，不同的编号因此变成了同一个；请在保存前把该列设为文本格式，或重新导出）"),
    (rf"a unique key; ({_WHERE}) has the same key", lambda m: f"唯一的键；{_rows(m[1])}的键与它相同"),
    (r"a product id the store knows", "工作区已有的商品编号"),
    (r"an end within (\d+) days of ds \(one event lasts at most a year\)",
     r"ds 之后 \1 天以内的结束日期（一个活动最长一年）"),
    # dates
    (r"a date between (\S+) and (\S+)", r"\1 到 \2 之间的日期"),
    (r"(.+) \(the column holds (\S+) numbers, not dates\)",
     _with(lambda m, e: f"{e}（该列是 {m[2]} 数字，不是日期）")),
    (r"(.+) \(a number is not a date\)", _with(lambda m, e: f"{e}（数字不是日期）")),
    (r"(.+) or a range from a first to a last day at most a year later \(this one ends before it "
     r"starts or spans more\)",
     _with(lambda m, e: f"{e}，或从第一天到最后一天、最长一年的日期范围"
                        "（这个范围的结束早于开始，或超过一年）")),
    (r"(.+), not a day without its year: export the dates with their year",
     _with(lambda m, e: f"{e}，不能是没有年份的日子：请导出带年份的日期")),
    (r"(.+) \(the text after the date is not a time of day\)",
     _with(lambda m, e: f"{e}（日期后面的文字不是时刻）")),
    (r"a date in the format (.+) \(--date-format\)", r"格式为 \1 的日期（--date-format）"),
    (r"a date in the format (.+?) \(--date-format; the column also has another layout: to read "
     r"both, --date-format (.+)\)",
     lambda m: f"格式为 {m[1]} 的日期（--date-format；该列还有另一种写法：两种都要读，请用 "
               f"--date-format {_or(m[2])}）"),
    (r"a date that the layouts of (.+?) do not read as different days \(--date-format\): give "
     r"only the layout this file uses",
     r"\1 中的几种写法不会读成不同日子的日期（--date-format）：请只给出本文件用的写法"),
    (r"(.+); a partial date \(year or month only\) needs --date-format, e\.g\. --date-format (\S+)",
     _with(lambda m, e: f"{e}；只有年份或年月的日期需要 --date-format，例如 --date-format {m[2]}")),
    (r"an id as the export wrote it, not a number in scientific notation: Excel rounds long number ids "
     r"\((\S+)\), so products can merge; format the id column as text before saving, or export it again",
     r"导出时原样的编号，不能是科学计数法的数字：Excel 会把长数字编号四舍五入（\1），不同商品可能因此合并；"
     r"请在保存前把编号列设为文本格式，或重新导出"),
    (r"(.+), not a week number: which days a week number holds depends on the back end's week rule; "
     r"export the week's first or last day, a range \((\S+)\) or ISO weeks \((\S+)\)",
     _with(lambda m, e: f"{e}，不能是周序号：周序号包含哪几天取决于后台的周规则；"
                        f"请导出每周的第一天或最后一天、日期区间（{m[2]}）或 ISO 周（{m[3]}）")),
    (r"(.+), not a number: this looks like an Excel serial day number \((\d+) is (\S+)\); format the "
     r"column as dates before saving the file",
     _with(lambda m, e: f"{e}，不能是数字：这看起来是 Excel 的日期序号（{m[2]} 即 {m[3]}）；请在保存文件前"
                        "把该列设为日期格式")),
    (r"(.+) \(pass --date-format (.+): the column writes the (day|month) first, as '(.+)' shows\)",
     _with(lambda m, e: f"{e}（请用 --date-format {m[2]}：该列{'日' if m[3] == 'day' else '月'}在前，"
                        f"如 '{m[4]}' 所示）")),
    (r"(.+) \(the column writes the (day|month) first in some rows \('(.+)'\) and the (day|month) first "
     r"in others \('(.+)'\); export the dates in one order\)",
     _with(lambda m, e: f"{e}（该列有的行{'日' if m[2] == 'day' else '月'}在前（'{m[3]}'），有的行"
                        f"{'日' if m[4] == 'day' else '月'}在前（'{m[5]}'）：请按同一种顺序导出日期）")),
    (r"(.+) \(or pass --date-format for another layout, e\.g\. --date-format (.+)\)",
     _with(lambda m, e: f"{e}（其他写法请用 --date-format，例如 --date-format {_or(m[2])}）")),
    (r"Unix time in seconds \(10 digits\) or milliseconds \(13 digits\)",
     "以秒（10 位数字）或毫秒（13 位数字）表示的 Unix 时间"),
    (r"Unix time in (seconds|milliseconds) like the rest of the column \(one unit per file; it mixes "
     r"seconds and milliseconds\)",
     lambda m: f"与该列其余的值一样以{'秒' if m[1] == 'seconds' else '毫秒'}表示的 Unix 时间"
               "（每个文件只用一种单位；该列混用了秒和毫秒）"),
    (r"(.+) or a Unix time, one kind per column \(this column mixes Unix times and dates\)",
     _with(lambda m, e: f"{e}或 Unix 时间，每列只用一种（该列混用了 Unix 时间和日期）")),
    (r"a local time that exists once in (\S+) \(daylight-saving change\)",
     r"在 \1 只出现一次的本地时间（夏令时切换）"),
    # the header line (data.readers.check_header)
    (r"a name without a byte-order mark \(U\+FEFF\); the file looks like two files joined",
     "不含字节顺序标记（U+FEFF）的列名；这个文件像是两个文件拼在了一起"),
    (r"a name without control characters", "不含控制字符的列名"),
    (r"a column name \(a blank name: a trailing separator on the header line, or a saved index column\)",
     "列名（列名为空：表头行末尾多了分隔符，或保存了索引列）"),
    (r"a name used once; column (\d+) is also named (.+)", r"只出现一次的列名；第 \1 列也叫 \2"),
])


def expected_zh(text: str) -> str | None:
    """What a value was expected to be, in Chinese; None when no pattern knows it."""
    return apply_rules(text, _EXPECTED)


def _skipped(dates: str, stored_end: str, start: str, end: str) -> str:
    """Continuity's description of the periods no product has a sales row for."""
    dates = re.sub(r" and (\d+) more$", r" 等（另有 \1 期）", dates)
    return (f"没有任何商品在 {dates} 有销量记录（已保存的销量截至 {stored_end}；新的销量从 {start} "
            f"到 {end}）")


_SKIPPED = (r"no product has a sales row for (.+?) \(the stored sales end (\S+); the new ones run (\S+) to "
            r"(\S+)\)")


def _gap_reason(why: str) -> str | None:
    if why == "--allow-gaps":
        return why
    if why == "too little history to tell":
        return "历史太短，无法判断"
    m = re.fullmatch(r"(\d+) of the (\d+) periods before had no sale either", why)
    if m:
        return f"之前 {m[2]} 期中有 {m[1]} 期同样没有销量"
    m = re.fullmatch(r"calendar: (.+)", why)
    return f"日历：{m[1]}" if m else None


def _gap_note(m: re.Match[str]) -> str | None:
    why = _gap_reason(m[5])
    return None if why is None else f"{_skipped(*m.groups()[:4])}：按每个商品零销量保存（{why}）"


_JUMP = (r"the new sales are (1/)?([\d,]+)x?(?: of)? the same products' recent level: ([\d,]+) of the "
         r"([\d,]+) products that sold in both moved (\d+)-fold or more the same way \(e\.g\. (.+)\)")


def _jump(m: re.Match[str]) -> str:
    """The head of the unit-jump note and refusal (services.continuity.Jump.describe)."""
    way = f"只有商品近期水平的 1/{m[2]}" if m[1] else f"是同一批商品近期水平的 {m[2]} 倍"
    example = re.sub(r"^(.+?): (\S+) against a mean of (\S+) per period$", r"\1：\2，此前每期平均 \3", m[6])
    return (f"新的销量{way}：两段时间都有销量的 {m[4]} 个商品中，有 {m[3]} 个同向变化了 {m[5]} 倍以上"
            f"（例如 {example}）")


def _missed_export(m: re.Match[str]) -> str:
    before = f"之前 {m[5]} 期每期都有销量" if m[5] else f"之前 {m[7]} 期中有 {m[6]} 期有销量"
    return (f"{_skipped(*m.groups()[:4])}，而{before}：这几期的导出文件似乎缺失了，保存这个文件会让"
            "每个商品在这几期的销量都变成零。未保存任何数据：请先导入缺失那几期的文件（或放进同一次更新），"
            "如果店铺那几期确实没有销售（停业），请用 --allow-gaps（API：allow_gaps=true）")


_SEPARATOR = {"commas": "逗号", "semicolons": "分号", "tabs": "制表符", "vertical bars": "竖线"}
_PERIOD = {"day": "天", "week": "周", "month": "月", "quarter": "季度", "year": "年"}
_THIS = {"day": "这一天", "week": "这一周", "month": "这个月", "quarter": "这个季度", "year": "这一年"}
_ONE = {"day": "一天", "week": "一周", "month": "一个月", "quarter": "一个季度", "year": "一年"}
_WEEKDAY = {"Mondays": "周一", "Tuesdays": "周二", "Wednesdays": "周三", "Thursdays": "周四",
            "Fridays": "周五", "Saturdays": "周六", "Sundays": "周日"}


def _span(text: str) -> str:
    return text.replace(" to ", " 至 ")


_JSON_TYPE = {"list": "列表", "int": "整数", "float": "数字", "str": "字符串", "bool": "布尔值",
              "NoneType": "null"}


def _renamed(m: re.Match[str]) -> str | None:
    pairs = re.findall(r"(.+?) read as ('\w+')(?:, |$)", m[1])
    if ", ".join(f"{a} read as {b}" for a, b in pairs) != m[1]:
        return None
    return "列名的大小写与 trendcast 的不同，已按对应的列读取：" + "，".join(f"{a} → {b}" for a, b in pairs)


def _open_periods(m: re.Match[str]) -> str:
    unit = m[3]
    how = ("（周按其第一天的日期读取，这是本工作区的周日期设置；如果文件用一周的最后一天表示日期，请用 "
           "--week-label end 重新导入，工作区会记住这个设置）") if m[5] else ""
    return (f"{m[1]} 行销量（从 {_span(m[2])} 开始的{_ONE[unit]}）未保存：{_THIS[unit]}还没有结束（{m[4]}），"
            f"目前为止的销量会被当作销量低的{_ONE[unit]}；请在{_THIS[unit]}结束后再导入{how}")


_SUM_OF = {"products": "商品", "orders": "订单", "reviews": "评价", "events": "行为记录"}

# One line of a message: the ingest's notes and the lines of its refusals. A line that starts
# with a file name ("sales.csv: ...") is translated after it (see _line).
_LINES: list[Rule] = compile_rules([
    # notes: reading the file (data.ingest.load_file)
    (r"read as (.+?) text \((detected|--encoding)\)",
     lambda m: f"按 {m[1].replace(' with BOM', '（带 BOM）')} 编码读取"
               + ("（自动识别）" if m[2] == "detected" else "（--encoding）")),
    (r"columns separated by (commas|semicolons|tabs|vertical bars) \(detected from the header line\)",
     lambda m: f"各列以{_SEPARATOR[m[1]]}分隔（由表头行识别）"),
    (rf"{_N} empty row\(s\) skipped", r"跳过了 \1 个空行"),
    (rf"ds: {_N} date\(s\) on the (last|first) day of their period read as that period, dated by its "
     r"(.+?) as this (\w+) workspace dates its periods \(e\.g\. (\S+) → (\S+)\)", _relabelled),
    (rf"product ids that differ only in letter case, full-width characters, spaces or leading zeros "
     rf"\((.+); {_N} such group\(s\)\): stored as different products; if they are one, write them alike",
     lambda m: f"有商品编号只在大小写、全角字符、空格或前导零上不同（{m[1].replace(' and ', ' 与 ')}；"
               f"共 {m[2]} 组）：它们按不同的商品保存；如果是同一个商品，请写成一样的编号"),
    (rf"{_N} product id\(s\) read as the id they match but for the leading zeros or the '\.0' a "
     r"spreadsheet changes \((.+)\); if they are other products, write their ids differently",
     lambda m: f"{m[1]} 个商品编号按与之相符的编号读取，只差电子表格去掉的前导零或加上的 '.0'"
               f"（{m[2].replace(' as ', ' 读作 ')}）；如果是别的商品，请换一种写法"),
    (rf"(\w+): {_N} yes/no value\(s\) \((.+)\) read as 1/0", r"\1：\2 个是/否值（\3）按 1/0 读取"),
    (rf"column '(.+?)': {_N} value\(s\) written as Excel text \((.+)\) read as the text inside",
     r"列 '\1'：\2 个写成 Excel 文本形式的值（\3）按其中的文本读取"),
    (rf"(.+?): {_N} date\(s\) written with the day of the week \(e\.g\. (.+)\) read without it, each "
     r"checked against its date",
     r"\1：\2 个带星期几的日期（例如 \3）去掉星期几后读取，并逐个核对星期几与日期是否一致"),
    (rf"column '(.+?)': {_N} merged cell\(s\) over several rows \((.+)\) read as their value on every "
     r"row they span", r"列 '\1'：\2 处跨多行的合并单元格（\3）按其值读入所跨的每一行"),
    (r"column '(.+?)' \((\w+)\) has cells merged over several rows \((.+)\): a number cannot be shared "
     r"between the rows it spans \(a total over an order's lines\?\); unmerge the cells and give each "
     r"row its own value",
     r"列 '\1'（\2）有跨多行的合并单元格（\3）：一个数字不能分给它所跨的几行（是一个订单几行明细的合计？）；"
     r"请取消合并，并给每一行填上自己的值"),
    (rf"{_N} title line\(s\) above the header skipped \(line ([\d, ]+)\)",
     r"跳过了表头上方的 \1 行标题（第 \2 行）"),
    (rf"{_N} note line\(s\) below the data skipped \(line ([\d, ]+)\)",
     lambda m: f"跳过了数据下方的 {m[1]} 行注释（第 {m[2].replace(', ', '、')} 行）"),
    (rf"{_N} total line\(s\) at the end skipped \(line ([\d, ]+): (.+)\)",
     r"跳过了末尾的 \1 行合计（第 \2 行：\3）"),
    (r"(.+?): the columns are those of the (\S+) layout \((.+)\): pass --format (\S+)",
     lambda m: f"{m[1]}：这些列是 {m[2]} 格式的列（{m[3].replace(', ', '、')}）：请加上 --format {m[4]}"),
    (r"(.+?): the first line looks like data, not a header \((.+) is a column name\): the file reads as "
     r"Taobao user behaviour \(user, item, category, pv/cart/fav/buy, Unix time\): pass --format taobao",
     r"\1：第一行看起来是数据而不是表头（\2 被当成了列名）：文件的样子是淘宝用户行为数据"
     r"（用户、商品、类目、pv/cart/fav/buy、Unix 时间）：请加上 --format taobao"),
    (r"(.+?): the first line looks like data, not a header \((.+) is a column name\): if the file has no "
     r"header line, name its (\d+) columns in order with --columns, e\.g\. (--columns \S+)",
     r"\1：第一行看起来是数据而不是表头（\2 被当成了列名）：如果文件没有表头行，"
     r"请用 --columns 按顺序给出它的 \3 列的列名，例如 \4"),
    (r"--columns (.+): name every column once, in order, separated by commas, e\.g\. (--columns \S+)",
     r"--columns \1：请按顺序写出每一列的列名，各写一次，用逗号分隔，例如 \2"),
    (r"--columns with --format (\S+): the format names its own columns",
     r"--columns 不能与 --format \1 同用：该格式自带列名"),
    (r"(.+?): the first sheet (.+?) has no column\(s\) (.+); sheet (.+?) has them: pass --sheet (.+)",
     lambda m: f"{m[1]}：第一个工作表 {m[2]} 中没有列 {m[3].replace(', ', '、')}；工作表 {m[4]} 中有："
               f"请加上 --sheet {m[5]}"),
    (r"header written on two lines \(line (\d+), (\d+)\) read as one: the names on line (\d+), under their "
     r"group's where one repeats",
     r"表头写在两行（第 \1、\2 行），已合并为一行：列名取第 \3 行的，重复的列名前加上所在分组的名称"),
    (rf"{_N} subtotal line\(s\) skipped \(line ([\d, .]+): (.+) in column (.+)\): a report's sums, not "
     r"(products|orders|reviews|events)",
     lambda m: f"跳过了 {m[1]} 行小计（第 {m[2].replace(', ', '、')} 行：列 {m[4]} 中的 {m[3]}）：这是报表的"
               f"汇总行，不是{_SUM_OF[m[5]]}"),
    (rf"{_N} repeated header line\(s\) skipped \(line ([\d, .]+)\): the file looks like exports pasted one "
     r"below the other", r"跳过了 \1 行重复的表头（第 \2 行）：这个文件像是几次导出上下拼在了一起"),
    (rf"(.+) blank on {_N} order line\(s\) whose order gives them on another line \(e\.g\. line (\d+), order "
     r"(.+)\): taken from that line, as an export that writes an order's fields on its first line only",
     lambda m: f"{m[2]} 行订单明细的 {m[1]} 为空，而同一订单的另一行有值（例如第 {m[3]} 行，订单 {m[4]}）："
               "已取自那一行（有的导出只在订单的第一行写订单级字段）"),
    (rf"{_N} row\(s\) with no value in column (.+) after their series' last value left out "
     r"\(line ([\d, .]+)\): periods not reported yet; a blank between two values is refused",
     lambda m: f"{m[1]} 行在所属序列最后一个值之后、列 {m[2]} 为空，未保存（第 "
               f"{m[3].replace(', ', '、')} 行）：这些时期尚未报告；两个值之间的空值仍会被拒绝"),
    (rf"{_N} day\(s\) without an event name \(column (.+)\) left out: a calendar of every day, {_N} with an "
     r"event", r"\1 天没有事件名称（列 \2），未保存：这是一份逐日日历，其中 \3 天有事件"),
    (rf"calendar: {_N} event row\(s\) of {_N} regions \((.+?)\) not used as flags for every product: a "
     r"product is not in every region; events without a region or of a whole country are used",
     r"日历：\2 个地区的 \1 行事件（\3）未作为所有商品的共同标志：商品并不在每个地区；"
     r"无地区或全国性的事件照常使用"),
    (rf"transferred: {_N} holiday row\(s\) marked transferred left out: the holiday was observed on another "
     rf"day, its own row \(e\.g\. ({_WHERE})(?:, (.+))?\)",
     lambda m: f"transferred：{m[1]} 行标为已移至另一天（transferred）的节假日未保存：该节假日在另一天放假，"
               f"那一天有它自己的行（例如 {_rows(m[2])}{'，' + m[3] if m[3] else ''}）"),
    (rf"(.+?): ({_WHERE}), column 'transferred': got (.+), expected true or false \(a transferred holiday is "
     rf"observed on another day\); {_N} such row\(s\)",
     lambda m: f"{m[1]}：{_rows(m[2])}，列 'transferred'：值为 {m[3]}，应为 true 或 false"
               f"（已移至另一天的节假日在那一天放假）；共 {m[4]} 行如此"),
    (r"extra column\(s\) not stored: (.+?)(?: and (\d+) more)? \(map one with --map TARGET=COLUMN\)",
     lambda m: f"多余的列未保存：{m[1]}" + (f" 等（另有 {m[2]} 列）" if m[2] else "")
               + "（要使用其中一列，用 --map TARGET=COLUMN 指定）"),
    (r"column\(s\) (.+)", _renamed),
    (r"no review timestamps in the file: ts set to the ingest time (\S+ \S+) \((.+)\); re-ingesting keeps it",
     r"文件中没有评价时间：ts 设为导入时间 \1（\2）；重新导入时保持不变"),
    (r"no review ids in the file: made from a stable hash of product, time, text, rating and reviewer "
     r"\(identical reviews numbered in file order; one reviewer's identical review at one time is one "
     r"review\)",
     "文件中没有评价编号：由商品、时间、内容、评分和评价人计算出稳定的编号（完全相同的评价按文件中的顺序编号；"
     "同一评价人在同一时间的相同评价算作一条）"),
    (rf"wide (sales|macro) table: {_N} date column\(s\) \((.+)\) read as (\S+) rows"
     rf"(?:; {_N} blank cell\(s\) are no (?:sales|macro) row)?",
     lambda m: f"宽格式的{_kind(m[1])}表：{m[2]} 个日期列（{m[3]}）按 {m[4]} 行读取"
               + (f"；{m[5]} 个空单元格不算一条记录" if m[5] else "")),
    (r"column (.+) read as the indicator names \(name\)", r"列 \1 按指标名称（name）读取"),
    (r"wide macro table: (\d+) indicator column\(s\) \((.+)\) read as name/ds/value rows"
     r"(, named INDICATOR:KEY)?",
     lambda m: f"宽格式的宏观指标表：{m[1]} 个指标列（{m[2]}）按 name/ds/value 行读取"
               + ("，名称为 指标:键" if m[3] else "")),
    # notes: values (data.validation)
    (rf"(.+?): {_N} quantity\(ies\) written as a lone dash read as 0 \(Excel's accounting format shows 0 "
     r"as '-'\)", r"\1：\2 个写作单独短横线的数量按 0 读取（Excel 的会计格式把 0 显示为 '-'）"),
    (rf"(.+?): {_N} price\(s\) written as a lone dash read as no price \(Excel's accounting format shows 0 "
     r"as '-'\)", r"\1：\2 个写作单独短横线的价格按无价格读取（Excel 的会计格式把 0 显示为 '-'）"),
    (rf"(.+?): {_N} time\(s\) written with 上午/下午 \(e\.g\. (.+)\) read on the 24-hour clock",
     r"\1：\2 个带“上午/下午”的时间（例如 \3）已按 24 小时制读取"),
    (rf"(.+?): {_N} rating\(s\) written with their scale \(e\.g\. (.+)\) read as the number",
     r"\1：\2 个评分带满分写法（例如 \3），已按分数读取"),
    (rf"(.+?): {_N} (rating\(s\)|quantities) written with a unit \(e\.g\. (.+)\) read as the number",
     lambda m: f"{m[1]}：{m[2]} 个{'评分' if m[3] == 'rating(s)' else '数量'}带单位（例如 {m[4]}），"
               "已按数字读取"),
    (rf"(.+?): {_N} (ISO week|quarter|date range|month) label\(s\) read as dates, the (week's Monday|"
     r"quarter's first day|range's last day|month's first day) \(e\.g\. (.+) as (\S+)\)",
     lambda m: f"{m[1]}：{m[2]} 个{_PERIOD_LABEL[m[3]]}按日期读取，取{_PERIOD_DAY[m[4]]}"
               f"（例如 {m[5]} 读作 {m[6]}）"),
    (r"(.+?): ratings on the (\S+)-(\S+) scale stored on the 1-5 scale of stars "
     r"\(1 \+ 4 x \(rating - (\S+)\) / (\S+): (\S+) is 1, (\S+) is 5\)",
     r"\1：\2-\3 分制的评分按 1-5 星保存（1 + 4 × (评分 − \4) / \5：\6 为 1 星，\7 为 5 星）"),
    (rf"(.+?): {_N} rating\(s\) drawn as stars \(e\.g\. (.+)\) read as the number of filled stars",
     r"\1：\2 个以星号表示的评分（例如 \3）按实心星的个数读取"),
    (rf"(.+?): {_N} review result\(s\) read as ratings: (.+)",
     lambda m: f"{m[1]}：{m[2]} 个评价结果按评分读取：{m[3].replace(' as ', ' 为 ').replace(', ', '，')}"),
    (rf"(price|unit_price): {_N} read as amount / (y|quantity) \(what the units sold for, per unit\), e\.g\. "
     rf"(\S+) / (\S+) = (\S+)(?:; {_N} row\(s\) without units sold have no price)?",
     lambda m: f"{m[1]}：{m[2]} 个按 金额 / {m[3]} 读取（每件的成交价），例如 {m[4]} / {m[5]} = {m[6]}"
               + (f"；{m[7]} 行没有售出件数，没有价格" if m[7] else "")),
    (rf"(.+?): {_N} value\(s\) typed in full-width characters \(e\.g\. (.+)\) read as ordinary "
     r"digits and signs",
     r"\1：\2 个值用全角字符输入（例如 \3），已按普通数字和符号读取"),
    (rf"(.+?): {_N} negative value\(s\) kept as (returns|backorders) \(--negatives keep\), "
     r"e\.g\. (.+)",
     lambda m: f"{m[1]}：{m[2]} 个负值按{'退货' if m[3] == 'returns' else '欠货'}保留"
               f"（--negatives keep），例如 {_examples(m[4])}"),
    (rf"(.+?): {_N} negative value\(s\) set to 0 \(--negatives (clip|zero)\), e\.g\. (.+)",
     lambda m: f"{m[1]}：{m[2]} 个负值设为 0（--negatives {m[3]}），例如 {_examples(m[4])}"),
    # notes: order statuses (data.order_status)
    (rf"{_N} order line\(s\) with a status that is not a sale left out \((.+)\)",
     r"\1 个状态不是成交的订单行未计入（\2）"),
    (r"status\(es\) not known to trendcast counted as sales: (.+) \(if they are not sales, leave those "
     r"lines out of the file\)",
     r"trendcast 不认识的订单状态按成交计：\1（如果它们不是成交，请从文件中删去这些行）"),
    # notes: storing (services.ingest, services.open_periods, services.continuity)
    (rf"{_N} sales row\(s\) dated (\S+(?: to \S+)?) left out: the day has not ended yet \((\S+ \S+)\), so "
     r"its sales so far would look like a slow day; ingest them after the day ends",
     lambda m: f"{m[1]} 行日期为 {_span(m[2])} 的销量未保存：这一天还没有结束（{m[3]}），目前为止的销量会被"
               "当作销量低的一天；请在这一天结束后再导入"),
    (rf"{_N} sales row\(s\) of the (?:weeks?|months?|quarters?|years?) starting (\S+(?: to \S+)?) left out: "
     r"the (week|month|quarter|year) has not ended yet \((\S+ \S+)\), so its sales so far would look like "
     r"a slow \3; ingest them after the \3 ends( \(weeks are read as dated by their first day, this "
     r"workspace's week label; if the file dates them by their last day, ingest it again with "
     r"--week-label end, which the workspace keeps\))?", _open_periods),
    (r"weekly sales of this workspace are now read as dated by the week's (first|last) day \(--week-label "
     r"(start|end); was (start|end)\)",
     lambda m: f"本工作区的周销量今后按一周的{'第一天' if m[1] == 'first' else '最后一天'}表示日期读取"
               f"（--week-label {m[2]}；原为 {m[3]}）"),
    (r"weekly sales dated on Mondays read as dated by the week's first day \(recorded as the workspace's "
     r"week label\): a week is stored once it has ended; if they are dated by the week's last day, ingest "
     r"with --week-label end",
     "日期为周一的周销量按一周的第一天读取（已记为工作区的周日期设置）：一周结束后才保存；如果日期是一周的"
     "最后一天，请用 --week-label end 导入"),
    (r"weekly sales dated on (\w+) read as dated by the week's last day \(recorded as the workspace's week "
     r"label\); if they are dated by the week's first day, ingest with --week-label start, which leaves a "
     r"week out until it has ended",
     lambda m: None if m[1] not in _WEEKDAY else
     f"日期为{_WEEKDAY[m[1]]}的周销量按一周的最后一天读取（已记为工作区的周日期设置）；如果日期是一周的"
     "第一天，请用 --week-label start 导入（一周结束后才保存）"),
    (rf"{_N} order\(s\) stored before, in the same (day|week)s, counted in those periods' sales",
     lambda m: f"之前已保存的同一{_PERIOD[m[2]]}的 {m[1]} 个订单计入了这些{_PERIOD[m[2]]}的销量"),
    (r"sales of (\S+)( and later)? left out: the (day|week) has not ended yet \((\S+ \S+)\), so its orders "
     r"so far would look like a slow \3; the next ingest of orders after it ends adds it from the stored "
     r"orders",
     lambda m: f"{m[1]}{' 及之后' if m[2] else ' '}的销量未生成：{_THIS[m[3]]}还没有结束（{m[4]}），目前为止"
               f"的订单会被当作销量低的{_ONE[m[3]]}；结束后的下一次订单导入会由已保存的订单补上"),
    (rf"{_N} exact duplicate row\(s\) \(same values in every column\) kept once",
     r"\1 行完全重复（每一列的值都相同），只保留一次"),
    (rf"registered {_N} new product id\(s\)", r"登记了 \1 个新的商品编号"),
    (rf"{_N} series had no catalogue entry; added as products", r"\1 个序列不在商品目录中，已加入商品目录"),
    (rf"aggregated into {_N} (daily|weekly) series \({_N} rows\)",
     lambda m: f"汇总为 {m[1]} 个{'按日' if m[2] == 'daily' else '按周'}序列（{m[3]} 行）"),
    (rf"{_N} stored order line\(s\) removed: their orders are no longer sales \(cancelled, closed or "
     r"refunded\)",
     r"删除了 \1 个已保存的订单行：这些订单已不再是成交（已取消、已关闭或已退款）"),
    (rf"scrubbed {_N} e-mail address\(es\) and {_N} phone number\(s\) from {_N} review\(s\)",
     r"已从 \3 条评价中删除 \1 个电子邮件地址和 \2 个电话号码"),
    (r"user ids of ((?:orders|events)(?:, (?:orders|events))*) kept as given \(pseudonymisation off\)",
     lambda m: "、".join(_kind(t) for t in m[1].split(", ")) + "的用户编号按原样保存（未启用化名）"),
    (rf"(orders|events): user ids of {_N} row\(s\) replaced by workspace pseudonyms \(keep them with "
     r"--keep-user-ids / pseudonymise=False\)",
     lambda m: f"{_kind(m[1])}：{m[2]} 行的用户编号已替换为工作区的化名（要保留原编号，用 --keep-user-ids / "
               "pseudonymise=False）"),
    (rf"{_N} product\(s\) that sold in every period before have no row for (.+?) though the rest of the "
     r"shop has \((.+?)\): forecasts read those periods as their recent level; if the export left them out, "
     r"ingest their rows",
     lambda m: f"{m[1]} 个此前每期都有销量的商品在 {m[2].replace(', ', '、')} 没有数据行，而店里其他商品有"
               f"（{m[3]}）：预测按其近期水平读取这几期；如果是导出时漏掉了，请补充导入这些行"),
    (_SKIPPED + r": read as zero sales of every product \((.+)\)", _gap_note),
    (rf"{_N} product-date\(s\) the forecasts cover have no row though the product sold in every period "
     r"before and the rest of the shop reported: most likely left out of an export, they are not scored "
     r"until their rows arrive",
     r"预测范围内有 \1 个商品-日期没有数据行，但该商品此前每期都有销量，店铺其他商品也已上报："
     r"很可能是导出时漏掉了，这些行到达后才会评分"),
    (r"no product has a sales row for ([\d,]+) period\(s\) inside the file\(s\) "
     r"\((.+?)( and [\d,]+ more)?\): read as zero sales of every product \(a closed shop\); if the "
     r"shop was open, that part of the export "
     r"is missing: undo this batch and ingest a file that has it",
     lambda m: f"文件内有 {m[1]} 期没有任何商品的销量记录（{m[2]}"
               + (f" 等，另有 {m[3].split()[1]} 期" if m[3] else "")
               + "）：按所有商品零销量读取（店铺歇业）；如果当时店铺在营业，说明导出缺了这部分："
                 "请撤销本批次，导入包含这部分的文件"),
    (_JUMP + r"( \(calendar: (.+)\))?: another unit \(cents, revenue instead of units, cases\)\? If so, "
     r"undo this batch \(`trendcast undo BATCH`\) and ingest the file in the stored unit",
     lambda m: _jump(m) + (f"（日历：{m[8]}）" if m[7] else "")
     + "：是否换了单位（分而不是元、销售额而不是件数、箱）？如果是，请撤销本批次（`trendcast undo BATCH`），"
       "按已保存的单位重新导入文件"),
    (_JUMP + r": another unit \(cents, revenue instead of units, cases\)\? Stored, the forecasts would "
     r"read a jump of every product\. Nothing was stored: export the file in the stored unit; if the "
     r"values are right, store it with `trendcast ingest` \(it keeps them, with a note\) and run the "
     r"update again",
     lambda m: _jump(m) + "：是否换了单位（分而不是元、销售额而不是件数、箱）？保存后，预测会把它读成所有"
                          "商品的突变。未保存任何数据：请按已保存的单位导出文件；如果数值无误，请用 "
                          "`trendcast ingest` 保存（会保留数值并附说明），然后再运行 update"),
    # refusals: the missed export (services.continuity)
    (_SKIPPED + r", though (?:each of the (\d+)|(\d+) of the (\d+)) periods before had sales: the export of "
     r"those periods looks missing, and storing this would make them periods of zero sales for every "
     r"product\. Nothing was stored: ingest the missing periods' file first \(or give it to the same "
     r"update\), or, if the shop sold nothing then \(closed\), pass --allow-gaps \(API: allow_gaps=true\)",
     _missed_export),
    # refusals: bad values (data.validation.Problems), unknown products (data.ingest)
    (rf"{_N} problem\(s\) in (\w+) data, nothing was stored:",
     lambda m: f"{_kind(m[2])}数据中有 {m[1]} 个问题，未保存任何数据："),
    (rf"- column (.+?): {_N} row\(s\): expected (.+)",
     lambda m: None if (e := expected_zh(m[3])) is None else f"- 列 {m[1]}：{m[2]} 行：{_as(e)}"),
    (rf"({_WHERE}), column (.+?): got (.+?), expected (.+)",
     lambda m: None if (e := expected_zh(m[4])) is None else
     f"{_rows(m[1])}，列 {m[2]}：值{_got(m[3])}，{_as(e)}"),
    (rf"\.\.\. and {_N} more like this", r"……另有 \1 行同类问题"),
    (rf"{_N} row\(s\) refer to {_N} unknown product\(s\), nothing was stored:",
     r"\1 行引用了 \2 个未知的商品，未保存任何数据："),
    (rf"\.\.\. and {_N} more row\(s\) with (.+)", r"……另有 \1 行也是 \2"),
    (rf"\.\.\. and {_N} more unknown product id\(s\)", r"……另有 \1 个未知商品编号"),
    (r"Ingest the product catalogue \(or sales\) first, or pass --add-products to register them as new "
     r"products\.", "请先导入商品目录（或销量），或用 --add-products 把它们登记为新商品。"),
    (r"missing required column\(s\) (.+) for (\w+); the file has (\[.*\])\. Rename them or map them with "
     r"--map (\w+)=<your column>",
     lambda m: f"缺少{_kind(m[2])}必需的列 {m[1]}；文件中的列为 {m[3]}。请重命名这些列，或用 "
               f"--map {m[4]}=<你的列名> 指定"),
    # refusals: columns and options (data.ingest)
    (rf"column (.+?) holds order statuses, {_N} line\(s\) not a sale \(e\.g\. (.+?)\): they would count as "
     r"sales\. Map it with --map status=(.+) to leave them out, or --drop (.+) if every line is a sale",
     r"列 \1 是订单状态，其中 \2 行不是成交（例如 \3），否则会算作销量。用 --map status=\4 指定它"
     r"即可去掉这些行；如果每一行都是成交，用 --drop \5"),
    (rf"a wide (sales|macro) table \({_N} date columns, (.+)\) needs its (product|indicator) column: "
     r"map it with --map (\S+)=COLUMN(?: \(its other columns are (.+)\))?",
     lambda m: f"宽格式的{_kind(m[1])}表（{m[2]} 个日期列，{m[3]}）需要{_ROWS_OF[m[4]]}列："
               f"请用 --map {m[5]}=列名 指定" + (f"（其他列为 {m[6]}）" if m[6] else "")),
    (r"its columns look like dates \((.+)\): a table of (product|indicator)s down and dates across is "
     r"read with --date-format (\S+)(?: and --map (\S+)=<its (?:product|indicator) column>)?",
     lambda m: f"它的列名像是日期（{m[1]}）：{_ROWS_OF[m[2]]}在行、日期在列的表格"
               f"请用 --date-format {m[3]} 读取"
               + (f"，并用 --map {m[4]}=<{_ROWS_OF[m[2]]}列> 指定" if m[4] else "")),
    (rf"column (.+?) also holds order statuses, {_N} line\(s\) not a sale \(e\.g\. (.+?)\): they would "
     r"count as sales\. Read both with --map status=(\S+) \(a line is left out when either says it is "
     r"not a sale\), or --drop (.+)",
     r"列 \1 也是订单状态，其中 \2 行不是成交（例如 \3），否则会算作销量。用 --map status=\4 两列都读"
     r"（任一列表明不是成交，该行即去掉），或用 --drop \5"),
    (r"(--map|--set) (.+?)=(.*?): (\w+) files have no column (.+?) \(their columns are (.+?)\)"
     r"(?:; did you mean (--\S+ .+)\?)?",
     lambda m: f"{m[1]} {m[2]}={m[3]}：{_kind(m[4])}文件没有列 {m[5]}（可用的列为 {m[6]}）"
               + (f"；是否应为 {m[7]}？" if m[7] else "")),
    (r"--drop names column\(s\) (\[.*?\]) that the file does not have; its columns are (\[.*\])",
     r"--drop 指定的列 \1 在文件中不存在；文件中的列为 \2"),
    (r"--map (.+?)=(.+?) names column\(s\) (\[.*?\]) that the file does not have; its columns are (\[.*\])"
     r"(; join columns into one key with \+, e\.g\. --map unique_id=Store\+Dept)?",
     lambda m: f"--map {m[1]}={m[2]} 指定的列 {m[3]} 在文件中不存在；文件中的列为 {m[4]}"
               + ("；要把几列合成一个键，用 + 连接，例如 --map unique_id=Store+Dept" if m[5] else "")),
    (r"--map (.+?)=(.+?), but the file already has a column (.+?); rename or --drop one of them",
     r"--map \1=\2，但文件中已有列 \3；请重命名其中一列，或用 --drop 去掉一列"),
    (r"--set (.+?)=(.*?), but the file already has a column (.+?); --drop it first or leave out --set",
     r"--set \1=\2，但文件中已有列 \3；请先用 --drop 去掉它，或不用 --set"),
    (r"reviews have no 'ts' column, but column (.+?) holds dates \(e\.g\. (.+?)\): map it with "
     r"--map ts=(.+), or --drop (.+) to date every review at the ingest time",
     r"评价没有 'ts' 列，但列 \1 是日期（例如 \2）：用 --map ts=\3 指定它，或用 --drop \4 "
     r"把每条评价的日期设为导入时间"),
    (r"a macro file needs 'name', 'ds' and 'value' columns, or 'ds' and one column per indicator; this one "
     r"looks like the second kind with its dates in column '(.+?)' \((.+) as indicators\): --map ds=(.+?), "
     r"and --map name=COLUMN for a key column such as a store, --drop COLUMN for one that is not an "
     r"indicator",
     r"宏观指标文件需要 'name'、'ds' 和 'value' 三列，或 'ds' 加每个指标一列；"
     r"这个文件像是后一种，日期在列 '\1'（\2 为指标）：请用 --map ds=\3；门店等键列用 --map name=列名，"
     r"不是指标的列用 --drop 列名"),
    (r"a macro file needs 'name', 'ds' and 'value' columns, or 'ds' and one column per indicator \(e\.g\. "
     r"date,dcoilwtico with --map ds=date\); it has (\[.*\])",
     r"宏观指标文件需要 'name'、'ds' 和 'value' 三列，或 'ds' 加每个指标一列（例如 date,dcoilwtico 加上 "
     r"--map ds=date）；这个文件的列为 \1"),
    (r"--date-format (.+): expected a strftime format such as %m/%d/%y, %d-%b-%y or %Y-%m",
     r"--date-format \1：应为 strftime 格式，例如 %m/%d/%y、%d-%b-%y 或 %Y-%m"),
    (r"(--map|--set) (.+): expected NAME=VALUE, for example (--\S+ \S+)", r"\1 \2：应为 NAME=VALUE，例如 \3"),
    (r"(--map|--set) (.+): both sides of '=' are needed, for example (--\S+ \S+)",
     r"\1 \2：'=' 两边都要填写，例如 \3"),
    (r"--tz (.+) is not a time zone; use an IANA name such as Asia/Shanghai, Europe/Berlin or UTC",
     r"--tz \1 不是时区；请用 IANA 名称，例如 Asia/Shanghai、Europe/Berlin 或 UTC"),
    # refusals: reading the file (data.readers)
    (r"the (file|sheet) is empty", lambda m: "文件为空" if m[1] == "file" else "工作表为空"),
    (rf"{_N} problem\(s\) in the header line, nothing was stored:", r"表头行有 \1 个问题，未保存任何数据："),
    (r"header, column (\d+): got (.+?), expected (.+)",
     lambda m: None if (e := expected_zh(m[3])) is None else f"表头第 {m[1]} 列：值为 {m[2]}，{_as(e)}"),
    (rf"({_WHERE}), column (.+?): bytes (.+) are not valid (\S+); expected UTF-8 text \(re-save the file as "
     r"UTF-8, or name its encoding with --encoding, e\.g\. --encoding gb18030\)",
     lambda m: f"{_rows(m[1])}，列 {m[2]}：字节 {m[3]} 不是有效的 {m[4]}；应为 UTF-8 文本"
               "（请把文件另存为 UTF-8，或用 --encoding 指定它的编码，例如 --encoding gb18030）"),
    (rf"({_WHERE}), column (.+?): a NUL byte \(\\x00\) inside a value; expected text without control "
     r"characters \(the file may be binary or damaged\)",
     lambda m: f"{_rows(m[1])}，列 {m[2]}：值中有 NUL 字节（\\x00）；应为不含控制字符的文本（文件可能是二进制"
               "文件或已损坏）"),
    (rf"({_WHERE}): (\d+) fields where the header has (\d+); a trailing separator or an unquoted (.+) inside "
     r"a value would shift every column after it\. Quote the value or remove the extra separator",
     lambda m: f"{_rows(m[1])}：有 {m[2]} 个字段，而表头有 {m[3]} 个；行末多余的分隔符或值中没有加引号的 "
               f"{'制表符' if m[4] == 'tab' else m[4]} 会让后面的每一列错位。请给这个值加上引号，"
               "或删去多余的分隔符"),
    (rf"({_WHERE})(?:, column (.+?))?: the value (.+) (opens a quote \(\"\) that is never closed, so the "
     r"rest of the file would be read into it|starts with a quote \(\"\) but has text after the quote that "
     r"closes it(?: on line (\d+), so the rows between would be read into this value| \(a lenient reader "
     r"would drop those quotes\))); write a quote inside a value as \"\" and put the whole value in quotes "
     r"\(as Excel saves CSV\), or remove the quote",
     lambda m: f"{_rows(m[1])}" + (f"，列 {m[2]}" if m[2] else "") + f"：值 {m[3]} "
               + ("以引号（\"）开头却没有结束的引号，文件的其余部分都会被读进这个值"
                  if m[4].startswith("opens") else
                  f"以引号（\"）开头，但在第 {m[5]} 行的结束引号之后还有文字，中间的行都会被读进这个值"
                  if m[5] else "以引号（\"）开头，但结束引号之后还有文字（宽松的读取方式会丢掉这些引号）")
               + "；值中的引号请写成 \"\" 并给整个值加上引号（Excel 保存 CSV 的方式），或删去引号"),
    (r"(.+) is text saved as (\S+): read as text", r"\1 是以 \2 为扩展名保存的文本：按文本读取"),
    (r"(.+) is an HTML table saved as (\S+): read as a table",
     r"\1 是以 \2 为扩展名保存的 HTML 表格：按表格读取"),
    (r"(.+): an HTML page without a table of rows; re-save it as \.xlsx or CSV",
     r"\1：HTML 页面中没有含数据行的表格；请另存为 .xlsx 或 CSV"),
    (r"not an \.xlsx workbook \(damaged, truncated, or password-protected\); re-save it from Excel as "
     r"\.xlsx or CSV", "不是 .xlsx 工作簿（已损坏、不完整或有密码保护）；请在 Excel 中另存为 .xlsx 或 CSV"),
    (r"a zip must hold exactly one data file, found (\[.*\])",
     r"zip 文件中只能有一个数据文件，这个里面有 \1"),
    (r"the zip is encrypted \(password-protected\); unzip it yourself and send the plain file",
     "zip 文件已加密（有密码保护）；请自己解压后发送解压出的文件"),
    (r"holds (.+); unzip it and send that file itself", r"里面是 \1；请解压后发送这个文件本身"),
    # refusals: JSON lines (data.readers._read_json_lines)
    (r"row (\d+): got a JSON (\w+), expected one JSON object per line",
     lambda m: None if m[2] not in _JSON_TYPE else
     f"第 {m[1]} 行数据：是 JSON {_JSON_TYPE[m[2]]}，应为每行一个 JSON 对象"),
    # the parser's own words (json, python-multipart) are kept in English, in ASCII brackets
    (r"row (\d+): not a JSON object \((.+)\); expected one JSON object per line",
     r"第 \1 行数据：不是 JSON 对象 (\2)；应为每行一个 JSON 对象"),
    (r"(?:row (\d+): )?key (.+) appears twice in one object; expected each key once",
     lambda m: (f"第 {m[1]} 行数据：" if m[1] else "")
               + f"键 {m[2]} 在同一个对象中出现了两次；每个键只能出现一次"),
    (r"not valid JSON \((.+)\)", r"不是有效的 JSON (\1)"),
    (r"the file has no JSON objects", "文件中没有 JSON 对象"),
    # refusals: calendar events with an end day (data.calendar.user_events)
    (r"events row (\d+), column 'end': (\S+) is before ds (\S+); end must be on or after ds\.",
     r"活动第 \1 行，列 'end'：\2 早于 ds \3；end 不能早于 ds。"),
    (r"events row (\d+), column (.+?): (.+) is not a non-empty name; fix that cell\.",
     r"活动第 \1 行，列 \2：\3 不是非空的名称；请改正这个单元格。"),
    # refusals: reading limits (data.readers.Limits; answered 413 by the API)
    (rf"about {_N} lines; trendcast reads at most {_N} rows per file \(split it, or raise "
     r"TRENDCAST_MAX_ROWS\)",
     r"约 \1 行；trendcast 每个文件最多读取 \2 行（请拆分文件，或调高 TRENDCAST_MAX_ROWS）"),
    (rf"{_N} (rows|records); trendcast reads at most {_N} rows per file",
     lambda m: f"{m[1]} {'行' if m[2] == 'rows' else '条记录'}；trendcast 每个文件最多读取 {m[3]} 行"),
    (rf"line 1 has {_N} fields; trendcast reads at most {_N} columns; this is M5's sales table \(item_id, "
     r"store_id, d_1 \.\.\.\): ingest its folder with --format m5 \(trendcast ingest --format m5 FOLDER\)",
     r"第 1 行有 \1 个字段；trendcast 最多读取 \2 列；这是 M5 的销量表（item_id、store_id、d_1 ……）："
     r"请用 --format m5 导入它所在的文件夹（`trendcast ingest --format m5 FOLDER`）"),
    (rf"line 1 has {_N} fields; trendcast reads at most {_N} columns",
     r"第 1 行有 \1 个字段；trendcast 最多读取 \2 列"),
    (rf"{_N} columns; trendcast reads at most {_N}", r"\1 列；trendcast 最多读取 \2 列"),
    (rf"more than {_N} distinct keys; trendcast reads at most that many columns",
     r"不同的键超过 \1 个；trendcast 最多读取这么多列"),
    (rf"({_WHERE}), column (.+?): a value of {_N} characters; trendcast reads at most {_N} per field",
     lambda m: f"{_rows(m[1])}，列 {m[2]}：值有 {m[3]} 个字符；trendcast 每个字段最多读取 {m[4]} 个字符"),
    (r"unpacks to more than (\d+) MB from (\S+) MB \(over (\S+) times its packed size, which real exports "
     r"never are: refused as a possible zip bomb\); unpack it yourself and send the plain file",
     r"解压后超过 \1 MB（压缩时为 \2 MB，超过压缩大小的 \3 倍，真实的导出文件不会这样："
     r"按可能的 zip 炸弹拒绝）；"
     r"请自己解压后发送解压出的文件"),
    (r"unpacks to more than (\d+) MB; split the file, or raise TRENDCAST_MAX_UNPACKED_MB if the size is "
     r"expected", r"解压后超过 \1 MB；请拆分文件，如果文件确实这么大，请调高 TRENDCAST_MAX_UNPACKED_MB"),
    # refusals: reading in the API's worker process (api.parsing)
    (rf"the file needs more memory than the server allows for reading one file \({_N} MB\); split it into "
     r"smaller files",
     r"读取这个文件需要的内存超过了服务器对单个文件的上限（\1 MB）；请把它拆分成较小的文件"),
    (r"the file took more memory or time than the server allows while it was read; split it into smaller "
     r"files", "读取这个文件用的内存或时间超过了服务器的上限；请把它拆分成较小的文件"),
    # refusals: the upload's own checks (api.upload), before the file is read
    (r"the upload is larger than the limit of (\S+) MB; split the file or start the server with a higher "
     r"--max-upload-mb", r"上传的文件超过了 \1 MB 的上限；请拆分文件，或用更大的 --max-upload-mb 启动服务器"),
    (r"form fields besides 'file' exceed (\d+) KB; send only the file and its options",
     r"除 'file' 之外的表单字段超过了 \1 KB；请只发送文件和它的选项"),
    (r"unknown form field\(s\) (\[.*?\]); the options are (.+) \(as on `trendcast ingest`\)",
     r"未知的表单字段 \1；可用的选项为 \2（与 `trendcast ingest` 的相同）"),
    (r"form field (.+?) given (\d+) times; give it once", r"表单字段 \1 给了 \2 次；请只给一次"),
    (r"form field (.+?) is not UTF-8 text", r"表单字段 \1 不是 UTF-8 文本"),
    (r"(\w+)=(.+): expected true or false", r"\1=\2：应为 true 或 false"),
    (r"format (.+?): known layouts are (.+)", r"format \1：已知的格式为 \2"),
    (r"say what the file holds: kind=sales \(or (.+)\), as a query parameter or form field",
     lambda m: f"请说明文件的内容：kind=sales（或 {'、'.join(m[1].split(', '))}），用查询参数或表单字段给出"),
    (r"(kind |lang=)(.+?): choose one of (.+)", r"\1\2：请从以下选择：\3"),
    (r"aggregate=(.+): D or W", r"aggregate=\1：应为 D 或 W"),
    (r"week_label=(.+): start \(weeks dated by their first day\) or end \(by their last day\)",
     r"week_label=\1：应为 start（周按第一天标日期）或 end（按最后一天）"),
    (r"send one file per upload \(one part named 'file'\)",
     "每次上传只发送一个文件（一个名为 'file' 的部分）"),
    (r"the 'file' part must be a file \(with a filename\), e\.g\. (curl -F \S+)",
     r"'file' 部分必须是文件（带文件名），例如 \1"),
    (r"file (.+?): trendcast reads (.+); rename or convert the file \(the name's ending picks the reader\)",
     r"文件 \1：trendcast 能读取 \2；请重命名或转换文件（按文件名的后缀选择读取方式）"),
    (r"file (.+?) was sent as (.+?), which is not a data file; send CSV/TSV/JSON lines/Parquet/Excel \(or "
     r"application/octet-stream\)",
     r"文件 \1 以 \2 类型发送，不是数据文件；请以 CSV/TSV/JSON lines/Parquet/Excel"
     r"（或 application/octet-stream）发送"),
    (r"uploads are multipart/form-data with a part named 'file', not (.+?); e\.g\. (curl -F \S+)",
     r"上传应为带有名为 'file' 的部分的 multipart/form-data，而不是 \1；例如 \2"),
    (r"the multipart Content-Type has no boundary", "multipart 的 Content-Type 没有 boundary"),
    (r"the multipart body is malformed \((.+)\)", r"multipart 请求体格式有误 (\1)"),
    (r"the multipart body ended before its closing boundary", "multipart 请求体在结束 boundary 之前就结束了"),
    (r"the request has no part named 'file'; send the data file as multipart field 'file' \((curl -F \S+)\)",
     r"请求中没有名为 'file' 的部分；请把数据文件作为 multipart 字段 'file' 发送（\1）"),
    # refusals: a stock file on the inventory page (services.inventory.read_stock)
    (r"missing column\(s\) (\[.*?\]); a stock file has (\S+)",
     r"缺少列 \1；库存文件的列为 \2（方括号中的列可选）"),
    (r"product (.+) appears more than once; give one row per product",
     r"商品 \1 出现了不止一次；每个商品只给一行"),
])


def _line(line: str) -> str | None:
    """One line in Chinese, or None when no pattern knows it. A line may start with the file
    it is about (``sales.csv: ...``): the rest is translated and the name kept as written."""
    zh = apply_rules(line, _LINES)
    if zh is not None:
        return zh
    at = line.find(": ")
    while at > 0:
        rest = apply_rules(line[at + 2:], _LINES)
        if rest is not None:
            return f"{line[:at]}：{rest}"
        at = line.find(": ", at + 2)
    return None


_INDENT = re.compile(r"^(\s*)(.*?)(\s*)$", re.S)


def localize_message(text: str, lang: str) -> str:
    """An ingest note or error message in ``lang``: for ``zh`` each line a pattern knows is
    translated (its indentation kept), any other line stays as written; other languages get
    ``text`` as it is."""
    if lang != "zh":
        return text
    out = []
    for line in text.split("\n"):
        m = _INDENT.match(line)
        assert m is not None  # the pattern matches any text
        zh = _line(m[2]) if m[2] else None
        out.append(line if zh is None else m[1] + zh + m[3])
    return "\n".join(out)


def localize_notes(notes: list[str], lang: str) -> list[str]:
    """Each note in ``lang`` (:func:`localize_message`)."""
    return [localize_message(n, lang) for n in notes]


def known_message(text: str) -> bool:
    """Whether a Chinese pattern knows every line of ``text``."""
    return all(_line(_INDENT.match(line)[2]) is not None  # type: ignore[index]
               for line in text.split("\n") if line.strip())


__all__ = ["expected_zh", "known_message", "localize_message", "localize_notes"]
