#!/bin/bash
REPO=$(cd "$(dirname "$0")/../.." && pwd); SRC=${SRC:-$REPO/src}; SHARED=${SHARED:-$REPO/../shared/data}
# each careless export into its own fresh workspace; prints exit code, output, rows stored
cd ${AUDIT:-/tmp/audit} && rm -rf c && mkdir c
TC="env PYTHONPATH=${SRC:-src} OMP_NUM_THREADS=1 nice -n 10 ${PYTHON:-python} -m trendcast.cli"
MAP="--map unique_id=Store+Dept --map ds=Date --map y=Weekly_Sales --negatives keep"
run() {  # name, extra args...
  f=$1; shift
  echo "=== $f $*"
  $TC ingest careless/$f --db c/$f.duckdb "$@" > c/$f.out 2>&1; echo "exit $?"; head -c 1500 c/$f.out; echo
  $TC info --db c/$f.duckdb --json 2>/dev/null | ${PYTHON:-python} -c "import json,sys; d=json.load(sys.stdin); print('stored sales rows', d['tables']['sales']['rows'])" 2>/dev/null
}
for f in eu.csv eu_thousands.csv dmy.csv zh_dates.csv serial.csv mixed.csv bom.csv spaces.csv dups.csv total.csv blank.csv thousands.csv missing_week.csv price_currency.csv overlap.csv excel.xlsx tabs.txt utf16.txt report.xlsx report.csv subtotal.csv excel_subtotals.xlsx; do run $f $MAP; done
run eu.csv $MAP --decimal ,
run eu_thousands.csv $MAP --decimal ,
run thousands.csv $MAP --decimal .
run dmy.csv $MAP --date-format %d/%m/%Y
run zh_dates.csv $MAP --date-format %Y年%m月%d日
run gbk.csv --map unique_id=门店+部门 --map ds=日期 --map y=销量 --negatives keep
run spaces.csv --map unique_id=STORE+DEPT --map ds=DATE --map y=WEEKLY_SALES --negatives keep
run price_currency.csv $MAP --map price=Price --decimal .
