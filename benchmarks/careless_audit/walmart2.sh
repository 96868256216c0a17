#!/bin/bash
REPO=$(cd "$(dirname "$0")/../.." && pwd); SRC=${SRC:-$REPO/src}; SHARED=${SHARED:-$REPO/../shared/data}
cd ${AUDIT:-/tmp/audit}
TC="env PYTHONPATH=${SRC:-src} OMP_NUM_THREADS=1 nice -n 10 ${PYTHON:-python} -m trendcast.cli"
DB="--db w5/w.duckdb"
$TC forecast --horizon 4 --model LightGBM --jobs 1 $DB
$TC inventory --top 3 $DB
$TC explain --id 1_1 --jobs 1 $DB
$TC trends --db w5/w.duckdb
$TC report --out w5/report $DB
$TC monitor $DB
