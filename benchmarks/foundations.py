"""Wall time and peak memory of the two foundation jobs: `trendcast demo` and the M5 ingest.

    python benchmarks/foundations.py --m5 ../shared/data/m5_ca1 --json out.json

Each job runs as its own `trendcast` process in a fresh temporary workspace; peak memory is
the child's maximum resident set size.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run_child(args: list[str]) -> None:
    """Run one trendcast command and print its wall time and peak RSS (this process has no
    other children, so RUSAGE_CHILDREN is that command's own peak)."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "trendcast.cli", *args], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    seconds = time.perf_counter() - start
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(json.dumps({"seconds": round(seconds, 1), "peak_mb": round(peak_kb / 1024)}))


def timed(args: list[str]) -> dict[str, float]:
    out = subprocess.run([sys.executable, __file__, "--child", *args], check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        run_child(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--m5", type=Path, default=Path("../shared/data/m5_ca1"))
    parser.add_argument("--json", type=Path, default=None)
    opts = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        results["demo"] = timed(["demo", "--db", f"{tmp}/demo.duckdb", "--out", f"{tmp}/out"])
        results["m5_ingest"] = timed(["ingest", "--format", "m5", str(opts.m5),
                                      "--db", f"{tmp}/m5.duckdb"])
        results["m5_ingest_again"] = timed(["ingest", "--format", "m5", str(opts.m5),
                                            "--db", f"{tmp}/m5.duckdb"])
    text = json.dumps(results, indent=2)
    print(text)
    if opts.json:
        opts.json.write_text(text)


if __name__ == "__main__":
    main()
