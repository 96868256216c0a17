"""Stored review sentiment: the demo's reviews scored twice; the second run reuses the stored
scores (``review_scores``) and embeds nothing.

    python benchmarks/sentiment_store.py --db /tmp/tc_reviews.duckdb --json out.json

The workspace gets the demo shop's products and reviews (``simulate_shop(240, seed=7)``, what
``trendcast demo`` ingests) unless it has reviews already. Run 1 is
``services.sentiment.product_sentiment`` with the packaged head, in this process: it embeds
every distinct text not stored yet (about 4 minutes for 6,827 texts on an idle 2-core machine)
and stores the scores. The second and third runs are ``trendcast sentiment --json`` in new
processes (nothing remembered but the workspace), timed from start to exit.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from trendcast.data.store import open_store  # noqa: E402
from trendcast.services import sentiment as service  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", type=Path, required=True)
    ap.add_argument("--json", type=Path, required=True)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    with open_store(args.db) as store:
        if store.count("reviews") == 0:
            from trendcast.data.simulate import simulate_shop
            from trendcast.services.ingest import ingest_frames

            shop = simulate_shop(n_products=240, seed=7)
            ingest_frames(store, {"products": shop.products, "reviews": shop.reviews}, source="demo shop")
        reviews = store.reviews()
    texts = reviews["text"].dropna().astype(str)
    info = {"reviews": int(len(reviews)), "with_text": int(len(texts)),
            "distinct_texts": int(texts.nunique())}
    print(json.dumps(info), file=sys.stderr, flush=True)

    from trendcast.text.sentiment import SentimentModel

    model = SentimentModel.pretrained(n_threads=args.threads)
    version = model.version
    runs = []
    load = os.getloadavg()[0]
    start = time.perf_counter()
    with open_store(args.db) as store:
        before = len(store.review_scores(version))
        table = service.product_sentiment(store, model=model, n_threads=args.threads)
        after = len(store.review_scores(version))
    note = next(n for n in table.attrs["notes"] if n.startswith("sentiment from the review text"))
    runs.append({"run": 1, "how": "in process", "seconds": round(time.perf_counter() - start, 2),
                 "stored_rows_before": before, "stored_rows_after": after,
                 "load_average_1min_before": round(load, 2), "note": note})
    print(json.dumps(runs[-1], ensure_ascii=False), file=sys.stderr, flush=True)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    for i in (2, 3):
        load = os.getloadavg()[0]
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "trendcast.cli", "sentiment", "--db", str(args.db),
                               "--json", "--threads", str(args.threads)],
                              capture_output=True, text=True, env=env, check=True)
        seconds = time.perf_counter() - start
        notes = json.loads(done.stdout)["notes"]
        note = next(n for n in notes if n.startswith("sentiment from the review text"))
        runs.append({"run": i, "how": "trendcast sentiment --json, new process", "seconds": round(seconds, 2),
                     "load_average_1min_before": round(load, 2), "note": note})
        print(json.dumps(runs[-1], ensure_ascii=False), file=sys.stderr, flush=True)
    out = {"workspace": info, "model_version": version, "runs": runs,
           "cpus": os.cpu_count()}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(out, ensure_ascii=False, indent=2), encoding="utf-8")
    print(json.dumps(out, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
