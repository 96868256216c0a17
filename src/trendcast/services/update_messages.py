"""The daily update's one-line outcome in the reader's language.

``UpdateResult.summary()`` and the refit reasons of ``services.update.decide`` are written in
English (the CLI, the logs and the API's job records share them); the dashboard shows them
translated, pattern by pattern, like the report's notes (:mod:`trendcast.insights.report_notes`).
A failed update's error is an ingest or model message: it goes through the ingest messages'
patterns. Text no pattern knows is shown as written.
"""

from __future__ import annotations

import re

from trendcast.insights.report_notes import apply_rules, compile_rules
from trendcast.services.ingest_messages import localize_message

# Why an update refitted or did not (services.update.decide), as its summary says.
_REASONS = compile_rules([
    (r"policy always", "策略为 always（每次都重新训练）"),
    (r"policy never", "策略为 never（从不重新训练）"),
    (r"no promoted version yet", "还没有已启用的版本"),
    (r"(\d+)% of the catalogue is new to the version \(max (\d+)%\)",
     r"\1% 的商品是该版本没见过的新品（上限 \2%）"),
    (r"version is (\d+) periods? old, younger than its horizon \((\d+)\): a refit could not be "
     r"compared with it on equal terms",
     r"版本训练后只过了 \1 期，不到其预测期（\2 期）：重新训练的版本无法与它在同等条件下比较"),
    (r"version is (\d+) periods? old \(max (\d+)\)", r"版本训练后已过 \1 期（上限 \2 期）"),
    (r"drift since (\S+): (\d+) categor\(y/ies\), (\d+) product\(s\)",
     r"自 \1 起出现漂移：\2 个品类、\3 个商品"),
    (r"version (\d+) periods? old, no drift beyond the thresholds",
     r"版本训练后已过 \1 期，漂移未超过阈值"),
])


def _packages(text: str) -> str:
    """'lightgbm 4.5.0 (installed: 4.6.0), ray 2.9 (not installed now)' in Chinese."""
    text = re.sub(r"\(installed: ([^)]+)\)", r"（当前安装 \1）", text)
    return text.replace(" (not installed now)", "（当前未安装）").replace(", ", "、")


def _reason(text: str) -> str | None:
    return apply_rules(text, _REASONS)


def _refit(text: str) -> str | None:
    if text == "no refit":
        return "未重新训练"
    m = re.fullmatch(r"refit (\S+) (promoted|kept aside)(?: \(WAPE ([\d.]+) vs ([\d.]+)\))?", text)
    if m is None:
        return None
    done = "已启用" if m[2] == "promoted" else "未启用（留作备选）"
    wape = f"（WAPE {m[3]}，原版本 {m[4]}）" if m[3] else ""
    return f"重新训练出 {m[1]}，{done}{wape}"


def _summary(m: re.Match[str]) -> str | None:
    refit, reason = _refit(m["refit"]), _reason(m["reason"])
    if refit is None or reason is None:
        return None
    return (f"更新：读入 {m['files']} 个文件共 {m['rows']} 行；为 {m['scored']} 条预测评分；"
            f"{m['alerts']} 个漂移告警；{refit}（{reason}）；由 {m['version']} 生成预测 "
            f"{m['run']}；用时 {m['s']} 秒，CPU {m['cpu']} 秒")


_LINES = compile_rules([
    (r"update: (?P<rows>[\d,]+) rows from (?P<files>\d+) file\(s\); (?P<scored>[\d,]+) "
     r"forecasts scored; (?P<alerts>\d+) drift alert\(s\); "
     r"(?P<refit>no refit|refit \S+ (?:promoted|kept aside)(?: \(WAPE [\d.]+ vs [\d.]+\))?) "
     r"\((?P<reason>.+)\); forecast (?P<run>\S+) from (?P<version>\S+); (?P<s>[\d.]+)s, "
     r"(?P<cpu>[\d.]+) CPU s", _summary),
    (r"another update has been running since (.+?) \((.+)\); this one stopped before changing "
     r"anything: run it again when that one has finished\. If no update is running \(one "
     r"crashed\), its lease expires at (.+)",
     r"另一次更新自 \1 起一直在运行（\2）；本次更新在改动任何数据之前就已停止：请等那次结束后再运行。"
     r"如果并没有更新在运行（那次崩溃了），它的占用会在 \3 失效"),
    # a saved version the installed packages cannot load (models.persistence.check_compatible)
    (r"model version (\S+) was saved in artefact format (\d+), this trendcast reads format (\d+); train "
     r"a new version with `trendcast train`",
     r"模型版本 \1 以第 \2 版文件格式保存，当前 trendcast 读取第 \3 版格式；"
     r"请用 `trendcast train` 训练新版本"),
    (r"model version (\S+) was saved with (.+); its fitted models cannot be trusted with other releases "
     r"of these packages\. Install the versions it was saved with, or train a new version with "
     r"`trendcast train`",
     lambda m: f"模型版本 {m[1]} 保存时用的是 {_packages(m[2])}；它拟合的模型换用这些包的其他版本就不可靠。"
               "请安装保存时的版本，或用 `trendcast train` 训练新版本"),
    (r"interrupted \(Ctrl\+C\) before it finished; the steps it had finished stay",
     "在完成前被中断（Ctrl+C）；已完成的步骤保留"),
])


def known_update(text: str) -> bool:
    """Whether a Chinese pattern knows ``text``: an update's summary, its refit reason or its
    error."""
    return localize_update(text, "zh") != text


def localize_update(text: str, lang: str) -> str:
    """An update's summary, refit reason or error in ``lang`` (as it is for ``en``)."""
    if lang != "zh" or not text:
        return text
    zh = apply_rules(text, _LINES) or _reason(text)
    return zh if zh is not None else localize_message(text, lang)


__all__ = ["known_update", "localize_update"]
