#!/bin/bash
REPO=$(cd "$(dirname "$0")/../.." && pwd); SRC=${SRC:-$REPO/src}; SHARED=${SHARED:-$REPO/../shared/data}
set -x
cd ${AUDIT:-/tmp/audit} && rm -rf mq && mkdir mq
TC="env PYTHONPATH=${SRC:-src} OMP_NUM_THREADS=1 nice -n 10 ${PYTHON:-python} -m trendcast.cli"
D=${SHARED:-../shared/data}/monthly_quarterly
head -n -6 $D/monthly.csv > mq/m_old.csv; (head -1 $D/monthly.csv; tail -6 $D/monthly.csv) > mq/m_new.csv
$TC ingest mq/m_old.csv --db mq/m.duckdb
$TC info --db mq/m.duckdb
$TC forecast --horizon 12 --model recommended --jobs 1 --db mq/m.duckdb
$TC backtest --horizon 6 --windows 2 --model recommended --model SeasonalNaive --jobs 1 --db mq/m.duckdb
$TC train --horizon 6 --model recommended --jobs 1 --db mq/m.duckdb
$TC update mq/m_new.csv --refit auto --jobs 1 --db mq/m.duckdb
$TC ingest $D/quarterly.csv --db mq/q.duckdb
$TC forecast --horizon 8 --model recommended --jobs 1 --db mq/q.duckdb
# mid-month dates
sed 's/-01,/-15,/' $D/monthly.csv > mq/mid.csv
$TC ingest mq/mid.csv --db mq/mid.duckdb
$TC info --db mq/mid.duckdb
$TC forecast --horizon 6 --model SeasonalNaive --jobs 1 --db mq/mid.duckdb
