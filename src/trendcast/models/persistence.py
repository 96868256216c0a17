"""Saved model versions: fitted, frozen models to bytes and back, refused when the installed
packages could not load them faithfully.

An artefact is a pickle (protocol 5) of ``{alias: frozen Forecaster}`` (see
:meth:`Forecaster.freeze` and :meth:`Forecaster.forward`) behind a small header. The pickle
holds the fitted library objects themselves (statsforecast models, the LightGBM booster
inside mlforecast, torch modules), so it is only trusted with the package versions it was
written with: :func:`package_versions` records them at save time and :func:`check_compatible`
refuses a load when a package the artefact uses now has another major.minor release (a
patch release is accepted), or when trendcast's artefact format changed. The packages an
artefact uses are read from the pickle's own imports (:func:`required_packages`), so a
version of AutoETS alone does not need torch installed.

Only load artefacts your workspace wrote: unpickling runs code.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import io
import pickle
import pickletools
import platform
import zlib
from collections.abc import Mapping
from typing import Any

from trendcast.errors import ModelError
from trendcast.models.base import Forecaster
from trendcast.version import __version__

ARTEFACT_FORMAT = 1
MAGIC = b"TCMODEL"
# distribution name -> top-level module; the ones a saved model may depend on
TRACKED = {
    "trendcast": "trendcast", "numpy": "numpy", "pandas": "pandas", "scipy": "scipy",
    "statsforecast": "statsforecast", "mlforecast": "mlforecast", "lightgbm": "lightgbm",
    "scikit-learn": "sklearn", "torch": "torch", "neuralforecast": "neuralforecast",
    "chronos-forecasting": "chronos", "transformers": "transformers", "fracast": "fracast",
    "timesfm": "timesfm", "coreforecast": "coreforecast", "utilsforecast": "utilsforecast",
}
ALWAYS = ("trendcast", "python", "numpy", "pandas")


class IncompatibleVersionError(ModelError):
    """A saved version cannot be loaded faithfully with the installed packages."""


def package_versions() -> dict[str, str | None]:
    """Installed versions of the tracked packages (None: not installed) and of Python."""
    return dict(_package_versions())


@functools.cache
def _package_versions() -> dict[str, str | None]:
    """Read once per process: the modules a process has imported do not change under it."""
    out: dict[str, str | None] = {"python": platform.python_version(), "trendcast": __version__}
    for dist in TRACKED:
        if dist == "trendcast":
            continue
        try:
            out[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            out[dist] = None
    return out


def required_packages(blob: bytes) -> list[str]:
    """The tracked packages whose classes a pickle refers to, plus :data:`ALWAYS`."""
    modules: set[str] = set()
    strings: list[str] = []
    for op, arg, _ in pickletools.genops(blob):
        if op.name in ("SHORT_BINUNICODE", "BINUNICODE", "UNICODE", "BINUNICODE8"):
            strings.append(str(arg))
        elif op.name == "STACK_GLOBAL" and len(strings) >= 2:
            modules.add(strings[-2].split(".")[0])
        elif op.name == "GLOBAL":
            modules.add(str(arg).split(" ")[0].split(".")[0])
    by_module = {module: dist for dist, module in TRACKED.items()}
    return sorted({*ALWAYS, *(by_module[m] for m in modules if m in by_module)})


def _release(version: str | None) -> tuple[str, ...] | None:
    if version is None:
        return None
    parts = version.split("+")[0].split(".")
    return tuple(parts[:2])


def check_compatible(saved: Mapping[str, str | None], requires: list[str], *,
                     artefact_format: int, label: str = "this version") -> None:
    """Raise :class:`IncompatibleVersionError` naming every package whose installed
    major.minor differs from the one ``label`` was saved with (or that is missing now)."""
    if artefact_format != ARTEFACT_FORMAT:
        raise IncompatibleVersionError(
            f"{label} was saved in artefact format {artefact_format}, this trendcast reads format "
            f"{ARTEFACT_FORMAT}; train a new version with `trendcast train`")
    now = package_versions()
    problems = []
    for name in requires:
        was, has = saved.get(name), now.get(name)
        if was is None:
            continue
        if has is None:
            problems.append(f"{name} {was} (not installed now)")
        elif _release(was) != _release(has):
            problems.append(f"{name} {was} (installed: {has})")
    if problems:
        raise IncompatibleVersionError(
            f"{label} was saved with {', '.join(problems)}; its fitted models cannot be trusted with "
            "other releases of these packages. Install the versions it was saved with, or train "
            "a new version with `trendcast train`")


def dumps(models: Mapping[str, Forecaster]) -> tuple[bytes, dict[str, Any]]:
    """The artefact bytes of frozen fitted models and what their metadata must record
    (``format``, ``packages``, ``requires``, ``sha256``, ``bytes``)."""
    bad = [a for a, m in models.items() if not getattr(m, "is_fitted_", False)]
    if bad:
        raise ModelError(f"cannot save unfitted model(s) {bad}")
    try:
        blob = pickle.dumps(dict(models), protocol=5)
    except Exception as exc:  # noqa: BLE001 - pickling raises TypeError, AttributeError, ...
        raise ModelError(f"cannot save models {sorted(models)}: {exc}") from exc
    body = zlib.compress(blob, 1)
    data = MAGIC + ARTEFACT_FORMAT.to_bytes(2, "big") + body
    meta = {"format": ARTEFACT_FORMAT, "packages": package_versions(),
            "requires": required_packages(blob), "sha256": hashlib.sha256(data).hexdigest(),
            "bytes": len(data)}
    return data, meta


def loads(data: bytes, meta: Mapping[str, Any], *, label: str = "this version") -> dict[str, Forecaster]:
    """The fitted models of an artefact, after checking its checksum and that the installed
    packages match those it was saved with (:func:`check_compatible`)."""
    if not data.startswith(MAGIC):
        raise ModelError(f"{label}: the artefact is not a trendcast model file")
    expected = meta.get("sha256")
    if expected and hashlib.sha256(data).hexdigest() != expected:
        raise ModelError(f"{label}: the artefact's checksum does not match its metadata (file "
                         "changed or truncated); train a new version")
    fmt = int.from_bytes(data[len(MAGIC):len(MAGIC) + 2], "big")
    check_compatible(meta.get("packages", {}), list(meta.get("requires", ALWAYS)),
                     artefact_format=fmt, label=label)
    try:
        models = pickle.load(io.BytesIO(zlib.decompress(data[len(MAGIC) + 2:])))
    except Exception as exc:  # noqa: BLE001 - unpickling raises anything a class may raise
        raise IncompatibleVersionError(f"{label}: cannot load its models ({type(exc).__name__}: "
                                       f"{exc}); train a new version") from exc
    if not isinstance(models, dict) or not all(isinstance(m, Forecaster) for m in models.values()):
        raise ModelError(f"{label}: the artefact holds no trendcast models")
    return models
