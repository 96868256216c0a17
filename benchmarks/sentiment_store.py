"""Stored review sentiment: the demo's reviews scored twice; the second run reuses the stored
scores (``review_scores``) and embeds nothing.

    python benchmarks/sentiment_store.py --db /tmp/tc_reviews.duckdb --json out.json [--stand-in]

The workspace gets the demo shop's products and reviews (``simulate_shop(240, seed=7)``, what
``trendcast demo`` ingests) unless it has reviews already. Each run is
``services.sentiment.product_sentiment`` (what ``trendcast sentiment`` prints) with the
process's score cache emptied first, so the second run sees only what the workspace stored,
as a new ``trendcast sentiment`` process would. Run 1 embeds every distinct text (about 20
minutes on an idle 2-core machine); run 2 is the figure.

``--stand-in`` replaces the e5 model by a stand-in of another model version that scores
texts instantly: the second run then measures the store-and-reuse path alone (reading the
reviews and stored scores, hashing texts, the per-product table with keywords), not the
packaged head's numbers. Without it, both runs use the packaged head.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from trendcast.data.store import open_store  # noqa: E402
from trendcast.services import sentiment as service  # noqa: E402


class StandIn:
    """Scores texts by their length: instant, deterministic, its own model version."""

    version = "stand-in-1"
    n_train_ = 0
    encoder = SimpleNamespace(config=lambda: {"name": "stand-in", "prefix": "-", "max_chars": 0})

    def predict_proba(self, texts, progress=None):  # noqa: ANN001 - SentimentModel's signature
        pos = np.array([(len(t) % 10) / 10 for t in texts])
        return np.column_stack([1 - pos, pos])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", type=Path, required=True)
    ap.add_argument("--json", type=Path, required=True)
    ap.add_argument("--stand-in", action="store_true", help="a stand-in model instead of the e5 head")
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

    if args.stand_in:
        model, version = StandIn(), StandIn.version
    else:
        from trendcast.text.sentiment import SentimentModel

        model = SentimentModel.pretrained(n_threads=args.threads)
        version = model.version
    runs = []
    for i in (1, 2):
        service._SCORES.clear()  # a new process: only the workspace remembers
        load = os.getloadavg()[0]
        start = time.perf_counter()
        with open_store(args.db) as store:
            before = len(store.review_scores(version))
            table = service.product_sentiment(store, model=model, n_threads=args.threads)
            after = len(store.review_scores(version))
        seconds = time.perf_counter() - start
        note = next(n for n in table.attrs["notes"] if n.startswith("sentiment from the review text"))
        runs.append({"run": i, "seconds": round(seconds, 2), "stored_rows_before": before,
                     "stored_rows_after": after, "load_average_1min_before": round(load, 2), "note": note})
        print(json.dumps(runs[-1], ensure_ascii=False), file=sys.stderr, flush=True)
    out = {"workspace": info, "model_version": version, "stand_in": args.stand_in, "runs": runs,
           "cpus": os.cpu_count()}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(out, ensure_ascii=False, indent=2), encoding="utf-8")
    print(json.dumps(out, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
