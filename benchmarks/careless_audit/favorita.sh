#!/bin/bash
REPO=$(cd "$(dirname "$0")/../.." && pwd); SRC=${SRC:-$REPO/src}; SHARED=${SHARED:-$REPO/../shared/data}
set -x
cd ${AUDIT:-/tmp/audit} && rm -rf fav && mkdir fav
TC="env PYTHONPATH=${SRC:-src} OMP_NUM_THREADS=1 nice -n 10 ${PYTHON:-python} -m trendcast.cli"
DB="--db fav/f.duckdb"
D=${SHARED:-../shared/data}/favorita_store_transactions
$TC ingest $D/transactions.csv $DB --map ds=date --map unique_id=store_nbr --map y=transactions
$TC ingest $D/stores.csv $DB --kind products --map unique_id=store_nbr --map store=store_nbr --map category=type --map department=cluster
$TC ingest $D/holidays_events.csv $DB --kind calendar --map ds=date --map name=description --map kind=type --map region=locale_name --date-format %m/%d/%y
$TC ingest $D/oil.csv $DB --kind macro --map ds=date
$TC info $DB
$TC forecast --horizon 28 --model SeasonalNaive --model LightGBMDrivers --jobs 1 $DB
$TC inventory --top 3 $DB
