#!/bin/bash
# Walmart stores 1-5 split for the audit: weeks to 2012-08-31, then two update files (4 weeks each).
AUDIT=${AUDIT:-/tmp/audit}; SHARED=${SHARED:-$(cd "$(dirname "$0")/../.." && pwd)/../shared/data}
mkdir -p "$AUDIT/data" && cd "$AUDIT/data" || exit 1
unzip -o -q "$SHARED/walmart_recruiting/train.csv.zip"
awk -F, 'NR==1 || ($1<=5 && $3<="2012-08-31")' train.csv > w5_old.csv
awk -F, 'NR==1 || ($1<=5 && $3>"2012-08-31" && $3<="2012-09-28")' train.csv > w5_new1.csv
awk -F, 'NR==1 || ($1<=5 && $3>"2012-09-28")' train.csv > w5_new2.csv
awk -F, 'NR==1 || ($1<=5)' "$SHARED/walmart_recruiting/features.csv" > f5.csv
tr '\r' '\n' < "$SHARED/walmart_recruiting/stores.csv" | awk -F, 'NR==1 || ($1<=5)' > s5.csv
