"""Review sentiment (Chinese, English): trendcast's e5 + logistic head against TF-IDF + logistic
regression and snownlp, on held-out products.

    python benchmarks/sentiment.py --json out.json [--save-head] [--cache /tmp/e5cache]

Protocol (see trendcast.text.corpora): identical texts kept once per language; train and test
never share a group (a product, product category or source): zh holds out the 手机, 水果 and
洗发水 categories of online_shopping_10_cats and the whole waimai_10k source; en holds out the
whole AMAZON_FASHION_5 file and the Alexa Show and Spot devices (Amazon ratings <= 2 negative,
>= 4 positive, 3 dropped). Training rows: at most --n-train per language, half of each class
where possible; test rows: at most --n-test per language, random, natural class ratio.
trendcast's model is one head on both languages' training rows; the baselines are fitted per
language on the same rows. Every model's C comes from 5-fold GroupKFold on its training rows
(macro F1). A paired bootstrap over test reviews gives a 95% interval for the macro-F1
difference trendcast - TF-IDF. Reviews per second: the fitted model's predict_proba (embedding
included, no cache) on --speed-n held-out texts with 2 encoder threads.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from trendcast.text import corpora  # noqa: E402
from trendcast.text.sentiment import SentimentModel  # noqa: E402

GRID = (0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0)
DATA = ROOT.parent / "shared" / "data"


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


class EmbeddingCache:
    """Embeddings by text hash in one .npz, so a rerun does not embed again."""

    def __init__(self, folder: Path | None, model: SentimentModel) -> None:
        cfg = model.encoder.config()
        self.path = folder / f"e5_{cfg['prefix']}_{cfg['max_chars']}.npz" if folder else None
        self.model = model
        self.store: dict[str, np.ndarray] = {}
        if self.path and self.path.exists():
            data = np.load(self.path)
            self.store = dict(zip(data["keys"].tolist(), data["values"], strict=True))
            log(f"cache: {len(self.store)} embeddings from {self.path}")

    @staticmethod
    def key(text: str) -> str:
        return hashlib.sha1(text.encode("utf-8")).hexdigest()

    def embed(self, texts: list[str], label: str) -> np.ndarray:
        keys = [self.key(t) for t in texts]
        todo = sorted({k: t for k, t in zip(keys, texts, strict=True) if k not in self.store}.items())
        start = time.perf_counter()
        for i in range(0, len(todo), 512):
            chunk = todo[i:i + 512]
            vecs = self.model.embed([t for _, t in chunk])
            self.store.update(zip([k for k, _ in chunk], vecs, strict=True))
            done = i + len(chunk)
            log(f"  {label}: embedded {done}/{len(todo)} new texts "
                f"({done / (time.perf_counter() - start):.1f}/s)")
            self.save()
        return np.stack([self.store[k] for k in keys])

    def save(self) -> None:
        if self.path:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            keys = list(self.store)
            tmp = self.path.with_suffix(".tmp.npz")
            np.savez(tmp, keys=np.array(keys), values=np.stack([self.store[k] for k in keys]))
            os.replace(tmp, self.path)  # a killed run never leaves a broken cache


def metrics(y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import accuracy_score, f1_score

    return {"accuracy": round(float(accuracy_score(y, pred)), 4),
            "macro_f1": round(float(f1_score(y, pred, average="macro")), 4)}


def paired_bootstrap(y: np.ndarray, a: np.ndarray, b: np.ndarray, n: int = 1000, seed: int = 0
                     ) -> dict[str, float]:
    """95% interval of macro F1(a) - macro F1(b), resampling test reviews."""
    from sklearn.metrics import f1_score

    rng = np.random.default_rng(seed)
    diffs = []
    for _ in range(n):
        i = rng.integers(0, len(y), len(y))
        diffs.append(f1_score(y[i], a[i], average="macro") - f1_score(y[i], b[i], average="macro"))
    lo, hi = np.percentile(diffs, [2.5, 97.5])
    return {"low": round(float(lo), 4), "high": round(float(hi), 4),
            "share_above_zero": round(float(np.mean(np.array(diffs) > 0)), 3)}


def choose_c(make, X, y, groups) -> tuple[float, dict[str, float]]:  # type: ignore[no-untyped-def]
    """C with the best mean macro F1 over 5 group folds of the training rows."""
    from sklearn.metrics import f1_score
    from sklearn.model_selection import GroupKFold

    folds = list(GroupKFold(n_splits=5).split(X, y, groups))
    scores = {}
    for c in GRID:
        f1 = []
        for tr, va in folds:
            model = make(c).fit(X[tr] if not isinstance(X, list) else [X[i] for i in tr], y[tr])
            xv = X[va] if not isinstance(X, list) else [X[i] for i in va]
            f1.append(f1_score(y[va], model.predict(xv), average="macro"))
        scores[c] = float(np.mean(f1))
    best = max(scores, key=lambda c: scores[c])
    return best, {str(c): round(s, 4) for c, s in scores.items()}


class HeadOnEmbeddings:
    """SentimentModel's head as an estimator over precomputed embeddings (for the C search)."""

    def __init__(self, c: float) -> None:
        self.model = SentimentModel(C=c)

    def fit(self, X: np.ndarray, y: np.ndarray) -> HeadOnEmbeddings:
        self.model.fit_embeddings(X, y)
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        return (self.model.predict_proba_embeddings(X)[:, 1] >= 0.5).astype(int)


def tfidf_lr(lang: str, c: float):  # type: ignore[no-untyped-def]
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    vec = (TfidfVectorizer(analyzer="char", ngram_range=(1, 3), min_df=2, sublinear_tf=True)
           if lang == "zh" else
           TfidfVectorizer(analyzer="word", ngram_range=(1, 2), min_df=2, sublinear_tf=True, lowercase=True))
    return make_pipeline(vec, LogisticRegression(C=c, class_weight="balanced", max_iter=2000))


def snownlp_predict(texts: list[str]) -> np.ndarray:
    from snownlp import SnowNLP

    return np.array([int(SnowNLP(t).sentiments >= 0.5) for t in texts])


def shop_check(model: SentimentModel, cache: EmbeddingCache, n: int, seed: int) -> dict[str, object]:
    """The fitted head on the simulated shop's review texts, against their star ratings."""
    from trendcast.data.simulate import simulate_shop

    r = simulate_shop().reviews
    r = r[r["rating"] != 3].drop_duplicates("text")
    r = r.sample(min(n, len(r)), random_state=seed)
    y = (r["rating"] >= 4).astype(int).to_numpy()
    p = model.predict_proba_embeddings(cache.embed(r["text"].tolist(), "simulated shop"))[:, 1]
    out: dict[str, object] = {"n": int(len(r)), **metrics(y, (p >= 0.5).astype(int))}
    for lang in ("zh", "en"):
        m = (r["language"] == lang).to_numpy()
        out[lang] = metrics(y[m], (p[m] >= 0.5).astype(int))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--zh", type=Path, default=DATA / "zh_review_sentiment")
    ap.add_argument("--en", type=Path, default=DATA / "amazon_reviews_en")
    ap.add_argument("--json", type=Path, required=True)
    ap.add_argument("--n-train", type=int, default=3000, help="max training texts per language")
    ap.add_argument("--n-test", type=int, default=1500, help="max test texts per language")
    ap.add_argument("--speed-n", type=int, default=400)
    ap.add_argument("--shop-n", type=int, default=500, help="simulated-shop texts to check (0: skip)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--cache", type=Path, default=None, help="folder for an embedding cache")
    ap.add_argument("--save-head", action="store_true",
                    help="write the fitted head to src/trendcast/text/assets/")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    t0 = time.perf_counter()
    model = SentimentModel(n_threads=args.threads)
    cache = EmbeddingCache(args.cache, model)
    sides: dict[str, dict[str, pd.DataFrame]] = {}
    details: dict[str, object] = {"split": {
        "zh": "held out (test): online_shopping_10_cats categories " + ", ".join(
            g.split(":")[1] for g in corpora.ZH_TEST_GROUPS if g.startswith("shopping:"))
              + " and all of waimai_10k; train: the other categories + hotel reviews "
                "(酒店 + ChnSentiCorp as one group)",
        "en": "held out (test): all of AMAZON_FASHION_5, Alexa Show and Spot; train: All_Beauty_5 "
              "(asin groups sharing reviews), other Alexa devices, UCI amazon_cells sentences; "
              "ratings <= 2 negative, >= 4 positive, 3 dropped",
        "rule": "no group and no identical text on both sides; train <= n_train per language with up "
                "to half of each class, test <= n_test per language at the natural class ratio"}}
    counts = {}
    for lang, loader, folder in (("zh", corpora.load_zh, args.zh), ("en", corpora.load_en, args.en)):
        frame = loader(folder)
        train, test = corpora.split_by_group(frame, corpora.is_test_group(frame["group"], lang))
        train = corpora.sample(train, args.n_train, balance=True, seed=args.seed)
        test = corpora.sample(test, args.n_test, balance=False, seed=args.seed)
        corpora.check_disjoint(train, test)
        sides[lang] = {"train": train, "test": test}
        counts[lang] = {"n_train": len(train), "n_test": len(test),
                        "train_negative": int((train["label"] == 0).sum()),
                        "test_negative": int((test["label"] == 0).sum()),
                        "train_groups": int(train["group"].nunique()),
                        "test_groups": int(test["group"].nunique())}
        log(f"{lang}: {counts[lang]}")
    details["counts"] = counts

    emb = {lang: {side: cache.embed(sides[lang][side]["text"].tolist(), f"{lang} {side}")
                  for side in ("train", "test")} for lang in ("zh", "en")}
    t_embed = time.perf_counter() - t0

    # trendcast: one head on both languages
    X = np.vstack([emb["zh"]["train"], emb["en"]["train"]])
    y = np.concatenate([sides["zh"]["train"]["label"], sides["en"]["train"]["label"]]).astype(int)
    groups = np.concatenate([("zh|" + sides["zh"]["train"]["group"]).to_numpy(),
                             ("en|" + sides["en"]["train"]["group"]).to_numpy()])
    c_head, cv_head = choose_c(HeadOnEmbeddings, X, y, groups)
    model.C = c_head
    model.fit_embeddings(X, y)
    results: dict[str, dict[str, dict[str, float | None]]] = {"zh": {}, "en": {}}
    chosen: dict[str, object] = {"trendcast": {"C": c_head, "cv_macro_f1": cv_head}}
    diffs: dict[str, dict[str, float]] = {}
    for lang in ("zh", "en"):
        yt = sides[lang]["test"]["label"].to_numpy()
        pred = (model.predict_proba_embeddings(emb[lang]["test"])[:, 1] >= 0.5).astype(int)
        results[lang]["trendcast"] = metrics(yt, pred)
        tr = sides[lang]["train"]
        c, cv = choose_c(lambda c, lang=lang: tfidf_lr(lang, c), tr["text"].tolist(),
                         tr["label"].to_numpy(), tr["group"].to_numpy())
        base = tfidf_lr(lang, c).fit(tr["text"].tolist(), tr["label"].to_numpy())
        base_pred = base.predict(sides[lang]["test"]["text"].tolist())
        results[lang]["tfidf_lr"] = metrics(yt, base_pred)
        diffs[lang] = paired_bootstrap(yt, pred, base_pred)
        chosen[f"tfidf_lr_{lang}"] = {"C": c, "cv_macro_f1": cv}
        log(f"{lang}: {results[lang]}")
    t_sn = time.perf_counter()
    results["zh"]["snownlp"] = metrics(sides["zh"]["test"]["label"].to_numpy(),
                                       snownlp_predict(sides["zh"]["test"]["text"].tolist()))
    snownlp_rate = len(sides["zh"]["test"]) / (time.perf_counter() - t_sn)
    results["en"]["snownlp"] = {"accuracy": None, "macro_f1": None}
    details["models"] = chosen
    details["macro_f1_trendcast_minus_tfidf_lr_95pct"] = diffs

    # speed: the whole predict_proba (embedding included) on held-out texts not cached
    n_zh = int(round(args.speed_n * 0.6))
    speed_texts = (sides["zh"]["test"]["text"].head(n_zh).tolist()
                   + sides["en"]["test"]["text"].head(args.speed_n - n_zh).tolist())
    load_before = os.getloadavg()[0]
    start = time.perf_counter()
    model.predict_proba(speed_texts)
    rate = len(speed_texts) / (time.perf_counter() - start)
    details["speed"] = {"texts": len(speed_texts), "zh_share": 0.6, "threads": args.threads,
                        "batch_size": model.encoder.batch_size,
                        "load_average_1min_before": round(load_before, 2),
                        "load_average_1min_after": round(os.getloadavg()[0], 2),
                        "snownlp_reviews_per_second": round(snownlp_rate, 1), "cpus": os.cpu_count()}
    if args.shop_n:
        details["simulated_shop_vs_ratings"] = shop_check(model, cache, args.shop_n, args.seed)
    details["seconds"] = {"load_split_embed": round(t_embed, 1), "total": round(time.perf_counter() - t0, 1)}
    out = {"zh": results["zh"], "en": results["en"], "reviews_per_second": round(rate, 1),
           "details": details}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(out, ensure_ascii=False, indent=2), encoding="utf-8")
    print(json.dumps(out, ensure_ascii=False, indent=2))

    if args.save_head:
        model.training_ = {
            "command": "python benchmarks/sentiment.py --json OUT --save-head",
            "data": "zh_review_sentiment (ChineseNlpCorpus) and amazon_reviews_en (Amazon 5-core "
                    "All_Beauty, Alexa, UCI sentences), training side of the split only",
            "split": details["split"], "counts": counts, "C_from_group_cv": c_head,
            "held_out": {"zh": results["zh"]["trendcast"], "en": results["en"]["trendcast"]},
            "built": time.strftime("%Y-%m-%d")}
        path = model.save(ROOT / "src" / "trendcast" / "text" / "assets")
        log(f"head written to {path} ({path.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
