"""Careless exports derived from Walmart's weeks 2012-09-07..28 (stores 1-5), written to
``$AUDIT/careless`` (default /tmp/audit): semicolons and decimal commas, other date layouts,
Excel serials, encodings, blank lines, duplicates, a total row, ... (docs/benchmarks.md,
"Careless exports and non-M5 shops: audit"). Run ``walmart_subset.sh`` first."""

import os
from pathlib import Path

import pandas as pd

AUDIT = Path(os.environ.get("AUDIT", "/tmp/audit"))
D = AUDIT / "data"
OUT = AUDIT / "careless"
OUT.mkdir(parents=True, exist_ok=True)
w = pd.read_csv(D / "w5_new1.csv")  # Store,Dept,Date,Weekly_Sales,IsHoliday (4 weeks)
d = pd.to_datetime(w["Date"])

def save(name, text, enc="utf-8"):
    (OUT / name).write_bytes(text.encode(enc) if isinstance(text, str) else text)

base = w.copy()
# 1 european: ; and decimal comma
eu = base.assign(Weekly_Sales=base["Weekly_Sales"].map(lambda v: f"{v:.2f}".replace(".", ",")))
save("eu.csv", eu.to_csv(sep=";", index=False))
# 1b european with thousands dots
eu2 = base.assign(Weekly_Sales=base["Weekly_Sales"].map(
    lambda v: f"{v:,.2f}".replace(",", "X").replace(".", ",").replace("X", ".")))
save("eu_thousands.csv", eu2.to_csv(sep=";", index=False))
# 2 dd/mm/yyyy
save("dmy.csv", base.assign(Date=d.dt.strftime("%d/%m/%Y")).to_csv(index=False))
# 3 chinese dates
save("zh_dates.csv", base.assign(Date=[f"{x.year}年{x.month}月{x.day}日" for x in d]).to_csv(index=False))
# 4 Excel serials
save("serial.csv", base.assign(Date=(d - pd.Timestamp("1899-12-30")).dt.days).to_csv(index=False))
# 5 mixed formats
mixed = base.assign(Date=[x.strftime("%Y-%m-%d") if i % 2 else x.strftime("%m/%d/%Y")
                          for i, x in enumerate(d)])
save("mixed.csv", mixed.to_csv(index=False))
# 6 BOM and GBK with chinese header
save("bom.csv", "\ufeff" + base.to_csv(index=False))
zh = base.rename(columns={"Store": "门店", "Dept": "部门", "Date": "日期", "Weekly_Sales": "销量",
                          "IsHoliday": "假日"})
save("gbk.csv", zh.to_csv(index=False), "gbk")
# 7 header with spaces / other case
save("spaces.csv", base.rename(columns=lambda c: f" {c.upper()} ").to_csv(index=False))
# 8 duplicated rows
save("dups.csv", pd.concat([base, base.iloc[:50]]).to_csv(index=False))
# 9 trailing Total
txt = base.to_csv(index=False) + f"Total,,,{base['Weekly_Sales'].sum():.2f},\n"
save("total.csv", txt)
# 10 empty lines and ,,,, lines
lines = base.to_csv(index=False).splitlines()
save("blank.csv", "\n".join(lines[:100] + [""] + lines[100:] + [",,,,", ",,,,", ""]) + "\n")
# 11 thousands separators quoted
save("thousands.csv",
     base.assign(Weekly_Sales=base["Weekly_Sales"].map(lambda v: f"{v:,.2f}")).to_csv(index=False))
# 12 weekly with a missing week for all series
weeks = sorted(base["Date"].unique())
save("missing_week.csv", base[base["Date"] != weeks[1]].to_csv(index=False))
# 13 price with currency
pr = base.assign(Price=[f"${12.5 + i % 3:.2f}" for i in range(len(base))])
save("price_currency.csv", pr.to_csv(index=False))
# 14 re-export overlapping with a changed value
over = pd.concat([pd.read_csv(D / "w5_old.csv").tail(400), base])
over.loc[over.index[0], "Weekly_Sales"] += 1000
save("overlap.csv", over.to_csv(index=False))
# 15 excel file with dates as real dates and a blank row
x = base.assign(Date=d)
x.to_excel(OUT / "excel.xlsx", index=False)
# 16 tab separated .txt
save("tabs.txt", base.to_csv(sep="\t", index=False))
# 17 utf-16 (Excel 'Unicode text')
save("utf16.txt", base.to_csv(sep="\t", index=False), "utf-16")
# 18 a back end's report: a title and an export time above the header, a 合计 line below
title = [["某某旗舰店 周销售报表"] + [None] * 4, ["导出时间：2012-10-01 08:00"] + [None] * 4,
         [None] * 5, list(base.columns)]
total = [["合计", None, None, round(float(base["Weekly_Sales"].sum()), 2), None]]
pd.DataFrame(title + base.values.tolist() + total).to_excel(OUT / "report.xlsx", header=False,
                                                            index=False)
save("report.csv", "某某旗舰店 周销售报表\n导出时间：2012-10-01 08:00\n" + base.to_csv(index=False)
     + f"合计,,,{base['Weekly_Sales'].sum():.2f},\n")
# 19 a back end's subtotal per store inside the data (小计 in the department column, no date)
def _sum_line(store, dept, value):
    return pd.DataFrame({"Store": [store], "Dept": [dept], "Date": [""], "Weekly_Sales": [round(value, 2)],
                         "IsHoliday": [""]})


parts = []
for store, g in base.groupby("Store", sort=False):
    parts += [g, _sum_line(store, "小计", float(g["Weekly_Sales"].sum()))]
save("subtotal.csv", pd.concat(parts).to_csv(index=False))
# 20 Excel's Data > Subtotal: "1 Total" in the grouped column, "Grand Total" at the end
parts = []
for store, g in base.groupby("Store", sort=False):
    parts += [g, _sum_line(f"{store} Total", "", float(g["Weekly_Sales"].sum()))]
parts.append(_sum_line("Grand Total", "", float(base["Weekly_Sales"].sum())))
pd.concat(parts).to_excel(OUT / "excel_subtotals.xlsx", index=False)
print(sorted(p.name for p in OUT.iterdir()))
