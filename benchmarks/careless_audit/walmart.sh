#!/bin/bash
REPO=$(cd "$(dirname "$0")/../.." && pwd); SRC=${SRC:-$REPO/src}; SHARED=${SHARED:-$REPO/../shared/data}
# Walmart 5 stores as a weekly shop through the CLI (run from /tmp/audit)
set -x
cd ${AUDIT:-/tmp/audit} && rm -rf w5 && mkdir w5
TC="env PYTHONPATH=${SRC:-src} OMP_NUM_THREADS=1 nice -n 10 ${PYTHON:-python} -m trendcast.cli"
DB="--db w5/w.duckdb"
MAP="--map unique_id=Store+Dept --map ds=Date --map y=Weekly_Sales --negatives keep"
$TC ingest data/w5_old.csv $DB $MAP
$TC ingest data/w5_old.csv $DB --kind products --map unique_id=Store+Dept --map store=Store --map department=Dept
$TC ingest data/f5.csv $DB --kind macro --map ds=Date --map name=Store --drop IsHoliday
$TC ingest data/s5.csv $DB --kind macro --map name=Store --drop Type --set ds=2010-02-05
$TC festivals --country US $DB
$TC info $DB
$TC forecast --horizon 8 --model recommended --jobs 1 $DB
$TC backtest --horizon 8 --windows 2 --model recommended --model SeasonalNaive --jobs 1 $DB
$TC inventory --top 5 $DB
$TC train --horizon 4 --model recommended --jobs 1 $DB
$TC update data/w5_new1.csv $MAP --refit never --jobs 1 $DB
$TC update data/w5_new2.csv $MAP --refit auto --jobs 1 $DB
$TC monitor $DB
$TC inventory --top 5 $DB
$TC explain --id 1_1 --jobs 1 $DB
$TC report --out w5/report $DB
printf 'unique_id,start,end,promo\n1_1,2012-11-02,2012-11-16,1\n' > w5/plan.csv
$TC forecast --horizon 4 --scenario w5/plan.csv --jobs 1 $DB
$TC trends $DB
