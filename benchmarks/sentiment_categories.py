"""Sentiment head on every Chinese review category, with the error per category held out.

    python benchmarks/sentiment_categories.py --json out.json [--save-head] [--cache DIR]

The head of ``benchmarks/sentiment.py`` held four zh groups out of training (手机, 水果,
洗发水, waimai) to measure it on unseen products, so the packaged head never saw them and read
those categories too negative. This script trains on every zh group there is and measures the
error a category would have if it were new, by leave-one-group-out:

1. per zh group (the 9 product categories of online_shopping_10_cats, ``hotel`` =
   its 酒店 category + ChnSentiCorp, ``waimai``): at most --per-group reviews, random, at the
   group's own class ratio; en: the training side of ``benchmarks/sentiment.py``'s split
   (at most --n-en, half of each class where possible) and its held-out test side;
2. C by 5-fold GroupKFold over all training rows (zh groups and en groups; one C for every fold
   below: the only value shared with the held-out group);
3. for each zh group: a head on the en rows + every other zh group, scored on that group:
   accuracy, macro F1, the true positive share, the share called positive and the mean
   P(positive); the share error (called - true, in points) is what a category dashboard shows
   wrong. The packaged head (the one shipped before this script's --save-head) is scored on the
   same rows for comparison (its "seen" column says whether it trained on that group);
4. the final head: en rows + every zh group; en held-out accuracy / macro F1 as before.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from sentiment import DATA, EmbeddingCache, HeadOnEmbeddings, choose_c, log, metrics  # noqa: E402

from trendcast.text import corpora  # noqa: E402
from trendcast.text.sentiment import SentimentModel  # noqa: E402


def per_group_sample(frame: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    """At most ``n`` random rows of every group (each group keeps its class ratio)."""
    parts = [corpora.sample(part, n, balance=False, seed=seed) for _, part in frame.groupby("group")]
    return pd.concat(parts, ignore_index=True)


def group_error(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """Accuracy, macro F1 and the positive share: true, called (P >= 0.5) and mean P."""
    called = (p >= 0.5).astype(int)
    true_share, called_share = float(y.mean()), float(called.mean())
    return {"n": int(len(y)), **metrics(y, called), "true_positive_share": round(true_share, 4),
            "called_positive_share": round(called_share, 4),
            "mean_p_positive": round(float(p.mean()), 4),
            "share_error_points": round(100 * (called_share - true_share), 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--zh", type=Path, default=DATA / "zh_review_sentiment")
    ap.add_argument("--en", type=Path, default=DATA / "amazon_reviews_en")
    ap.add_argument("--json", type=Path, required=True)
    ap.add_argument("--per-group", type=int, default=500, help="max zh reviews per group")
    ap.add_argument("--n-en", type=int, default=1500, help="max en training reviews")
    ap.add_argument("--n-en-test", type=int, default=500, help="max en held-out reviews")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--cache", type=Path, default=None, help="folder for an embedding cache")
    ap.add_argument("--save-head", action="store_true",
                    help="write the head trained on every zh group to src/trendcast/text/assets/")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    t0 = time.perf_counter()
    packaged = SentimentModel.pretrained(n_threads=args.threads)
    model = SentimentModel(n_threads=args.threads)
    cache = EmbeddingCache(args.cache, model)
    zh = per_group_sample(corpora.load_zh(args.zh), args.per_group, args.seed)
    en_all = corpora.load_en(args.en)
    en_train, en_test = corpora.split_by_group(en_all, corpora.is_test_group(en_all["group"], "en"))
    en_train = corpora.sample(en_train, args.n_en, balance=True, seed=args.seed)
    en_test = corpora.sample(en_test, args.n_en_test, balance=False, seed=args.seed)
    log(f"zh rows per group: {zh['group'].value_counts().to_dict()}; en {len(en_train)} / {len(en_test)}")

    X_zh = cache.embed(zh["text"].tolist(), "zh")
    X_en = cache.embed(en_train["text"].tolist(), "en train")
    X_en_test = cache.embed(en_test["text"].tolist(), "en test")
    y_zh, y_en = zh["label"].to_numpy(int), en_train["label"].to_numpy(int)
    g_zh = ("zh|" + zh["group"]).to_numpy()
    g_en = ("en|" + en_train["group"]).to_numpy()

    X_all, y_all = np.vstack([X_zh, X_en]), np.concatenate([y_zh, y_en])
    c, cv = choose_c(HeadOnEmbeddings, X_all, y_all, np.concatenate([g_zh, g_en]))
    log(f"C = {c} (cv macro F1 {cv})")

    seen_before = set(corpora.ZH_TEST_GROUPS)
    rows = []
    for group in sorted(zh["group"].unique()):
        held = (zh["group"] == group).to_numpy()
        head = SentimentModel(C=c).fit_embeddings(np.vstack([X_zh[~held], X_en]),
                                                  np.concatenate([y_zh[~held], y_en]))
        new = group_error(y_zh[held], head.predict_proba_embeddings(X_zh[held])[:, 1])
        old = group_error(y_zh[held], packaged.predict_proba_embeddings(X_zh[held])[:, 1])
        rows.append({"group": group, "held_out": new,
                     "packaged_before": {**old, "seen_in_training": group not in seen_before}})
        log(f"{group}: held out {new}; packaged {old}")

    final = SentimentModel(C=c, n_threads=args.threads).fit_embeddings(X_all, y_all)
    en_pred = (final.predict_proba_embeddings(X_en_test)[:, 1] >= 0.5).astype(int)
    en_metrics = metrics(en_test["label"].to_numpy(int), en_pred)
    err = np.array([r["held_out"]["share_error_points"] for r in rows])
    err_old = np.array([r["packaged_before"]["share_error_points"] for r in rows
                        if not r["packaged_before"]["seen_in_training"]])
    out = {
        "per_group": rows,
        "summary": {
            "groups": len(rows), "C": c, "cv_macro_f1": cv,
            "held_out_mean_abs_share_error_points": round(float(np.abs(err).mean()), 2),
            "held_out_mean_share_error_points": round(float(err.mean()), 2),
            "held_out_mean_accuracy": round(float(np.mean([r["held_out"]["accuracy"] for r in rows])), 4),
            "packaged_unseen_groups_mean_share_error_points": round(float(err_old.mean()), 2),
            "en_held_out": en_metrics, "n_zh_train_final": int(len(y_zh)), "n_en_train": int(len(y_en)),
        },
        "seconds": round(time.perf_counter() - t0, 1),
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(out, ensure_ascii=False, indent=2), encoding="utf-8")
    print(json.dumps(out["summary"], ensure_ascii=False, indent=2))

    if args.save_head:
        final.training_ = {
            "command": "python benchmarks/sentiment_categories.py " + " ".join(sys.argv[1:]),
            "data": "zh_review_sentiment (ChineseNlpCorpus): every group, at most "
                    f"{args.per_group} reviews each; amazon_reviews_en training side "
                    "(All_Beauty_5, Alexa devices but Show/Spot, UCI sentences)",
            "zh_groups": sorted(zh["group"].unique().tolist()),
            "counts": {"zh": int(len(y_zh)), "zh_negative": int((y_zh == 0).sum()),
                       "en": int(len(y_en)), "en_negative": int((y_en == 0).sum())},
            "C_from_group_cv": c,
            "zh_per_category_held_out": {r["group"]: {k: r["held_out"][k] for k in
                                                      ("accuracy", "share_error_points")}
                                         for r in rows},
            "en_held_out": en_metrics, "built": time.strftime("%Y-%m-%d")}
        path = final.save(ROOT / "src" / "trendcast" / "text" / "assets")
        log(f"head written to {path} ({path.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
