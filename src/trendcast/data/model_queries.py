"""Typed store methods for saved model versions and forecast accuracy (issue 15).

Mixed into :class:`trendcast.data.store.Store`. Where a version's artefact lives:

- a DuckDB file workspace keeps artefacts as files in a folder beside it
  (``shop.duckdb`` -> ``shop.models/``), or in ``Settings.model_dir`` when that is set;
- PostgreSQL (and an in-memory DuckDB) keeps them in the workspace itself, base64 chunks in
  ``model_artefacts``, so every machine that reaches the database reaches its models
  without a shared file system; ``model_dir`` (``TRENDCAST_MODEL_DIR``) moves them to a
  folder instead, which must then be the same for every process.

A version row and its artefact are written together: the file is written first (to a
temporary name, then renamed) and removed again if the row cannot be stored.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from trendcast.errors import NotFoundError, StoreError

CHUNK = 4 << 20  # base64 characters per model_artefacts row
_JSON = ("models", "spec", "packages", "requires", "scores", "notes")


def _decode(row: pd.Series) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in row.items():
        if (isinstance(value, float) and value != value) or value is pd.NaT:
            value = None
        if hasattr(value, "item") and not isinstance(value, pd.Timestamp):
            value = value.item()  # numpy scalars -> Python
        if key in _JSON and value is not None:
            value = json.loads(value)
        elif isinstance(value, pd.Timestamp):
            value = value.to_pydatetime()
        out[str(key)] = value
    return out


class ModelQueries:
    """Model versions and forecast scores (see the module docstring)."""

    location: str
    dialect: str
    model_dir: Path | None = None  # Settings.model_dir, set by open_store

    # primitives and helpers of Store
    _fetch: Any
    _run: Any
    _count: Any
    _writable: Any
    append: Any
    transaction: Any
    _lock_for_write: Any

    # Where artefacts go ----------------------------------------------------------------

    def artefact_dir(self) -> Path | None:
        """The folder holding artefact files; None when they live in the workspace tables."""
        if self.model_dir is not None:
            return Path(self.model_dir).expanduser()
        if self.dialect == "duckdb" and self.location != ":memory:":
            path = Path(self.location).expanduser().resolve()
            return path.with_name(path.stem + ".models")
        return None

    # Versions --------------------------------------------------------------------------

    def save_model_version(self, row: dict[str, Any], artefact: bytes) -> str:
        """Store a version's row and its artefact together; returns where the artefact is."""
        self._writable()
        version_id = str(row["version_id"])
        folder = self.artefact_dir()
        path: Path | None = None
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"{version_id}.tcmodel"
            tmp = path.with_suffix(".tmp")
            tmp.write_bytes(artefact)
            os.replace(tmp, path)
            location = f"file:{path}"
        else:
            location = "table"
        record = {**row, "location": location}
        for key in _JSON:
            if key in record and not isinstance(record[key], str | type(None)):
                record[key] = json.dumps(record[key], ensure_ascii=False, default=str)
        try:
            with self.transaction():
                if path is None:
                    text = base64.b64encode(artefact).decode("ascii")
                    parts = [text[i:i + CHUNK] for i in range(0, len(text), CHUNK)] or [""]
                    self.append("model_artefacts", pd.DataFrame(
                        {"version_id": version_id, "part": range(len(parts)), "data": parts}))
                self.append("model_versions", pd.DataFrame([record]))
        except BaseException:
            if path is not None:
                path.unlink(missing_ok=True)
            raise
        return location

    def model_versions(self) -> list[dict[str, Any]]:
        """Every version, newest first."""
        rows = self._fetch("SELECT * FROM model_versions ORDER BY created_at DESC, version_id DESC")
        return [_decode(r) for _, r in rows.iterrows()]

    def model_version(self, version_id: str | None = None) -> dict[str, Any]:
        """One version's row; the promoted one when ``version_id`` is None."""
        if version_id is None:
            rows = self._fetch("SELECT * FROM model_versions WHERE status = 'promoted' "
                               "ORDER BY promoted_at DESC LIMIT 1")
            if rows.empty:
                raise NotFoundError("no promoted model version; train one with `trendcast train` "
                                    "(the first is promoted) or promote one with "
                                    "`trendcast models promote VERSION`")
        else:
            rows = self._fetch("SELECT * FROM model_versions WHERE version_id = ?", [version_id])
            if rows.empty:
                raise NotFoundError(f"no model version {version_id!r}; `trendcast models list` "
                                    "lists them")
        return _decode(rows.iloc[0])

    def model_artefact(self, version_id: str) -> bytes:
        """A version's artefact bytes."""
        row = self.model_version(version_id)
        location = str(row.get("location") or "table")
        if location.startswith("file:"):
            path = Path(location[5:])
            if not path.exists():
                raise StoreError(f"model version {version_id}: its artefact {path} is missing; "
                                 "delete the version and train a new one")
            return path.read_bytes()
        parts = self._fetch("SELECT data FROM model_artefacts WHERE version_id = ? ORDER BY part",
                            [version_id])
        if parts.empty:
            raise StoreError(f"model version {version_id}: its artefact is missing from the workspace")
        return base64.b64decode("".join(parts["data"].fillna("").tolist()))

    def promote_model_version(self, version_id: str) -> None:
        """Make ``version_id`` the promoted version (the one before becomes superseded)."""
        self._writable()
        self.model_version(version_id)
        with self.transaction():
            self._run("UPDATE model_versions SET status = 'superseded' WHERE status = 'promoted' "
                      "AND version_id <> ?", [version_id])
            self._run("UPDATE model_versions SET status = 'promoted', promoted_at = ? "
                      "WHERE version_id = ?", [pd.Timestamp.now().to_pydatetime(), version_id])

    def delete_model_version(self, version_id: str) -> None:
        """Remove a version's row and artefact."""
        self._writable()
        row = self.model_version(version_id)
        with self.transaction():
            self._run("DELETE FROM model_artefacts WHERE version_id = ?", [version_id])
            self._run("DELETE FROM model_versions WHERE version_id = ?", [version_id])
        location = str(row.get("location") or "")
        if location.startswith("file:"):
            Path(location[5:]).unlink(missing_ok=True)

    # Fingerprint -----------------------------------------------------------------------

    def sales_fingerprint(self, end: Any = None) -> dict[str, Any]:
        """Counts and sums that change when the sales up to ``end`` change (rows, series,
        first and last date, total units, units weighted by day number)."""
        where, params = ("WHERE ds <= ?", [pd.Timestamp(end).date()]) if end is not None else ("", [])
        row = self._fetch(
            "SELECT count(*) AS n_rows, count(DISTINCT unique_id) AS n_series, min(ds) AS first, "
            "max(ds) AS last, CAST(sum(y) AS DOUBLE PRECISION) AS units, "
            "CAST(sum(y * (EXTRACT(DAY FROM ds) + 31 * EXTRACT(MONTH FROM ds))) AS DOUBLE PRECISION) "
            "AS weighted "
            f"FROM sales {where}", params).iloc[0]
        out = {k: (None if pd.isna(v) else v) for k, v in row.items()}
        for key in ("first", "last"):
            if out[key] is not None:
                out[key] = str(pd.Timestamp(out[key]).date())
        for key in ("units", "weighted"):
            if out[key] is not None:
                out[key] = round(float(out[key]), 6)
        out["n_rows"], out["n_series"] = int(out["n_rows"] or 0), int(out["n_series"] or 0)
        return out

    # New products (cold start) ---------------------------------------------------------

    def launch_stats(self, ids: Sequence[str] | None = None) -> pd.DataFrame:
        """Per series with sales rows: ``unique_id, first_row, first_sale, last_row`` (the
        first stored day, the first day with a positive sale or NaT, the last stored day)."""
        where, params = "TRUE", []
        if ids is not None:
            where = f"unique_id IN ({', '.join('?' * len(ids)) or 'NULL'})"
            params = [str(i) for i in ids]
        out = self._fetch(
            "SELECT unique_id, min(ds) AS first_row, min(CASE WHEN y > 0 THEN ds END) AS first_sale, "
            f"max(ds) AS last_row FROM sales WHERE {where} GROUP BY unique_id ORDER BY unique_id", params)
        for col in ("first_row", "first_sale", "last_row"):
            out[col] = pd.to_datetime(out[col])
        out["unique_id"] = out["unique_id"].astype(str)
        return out

    # Forecast scores -------------------------------------------------------------------

    def forecast_runs_to_score(self) -> list[dict[str, Any]]:
        """Forecast runs with forecast dates on or before the last sales date and no scores
        yet for some of those dates: ``run_id, models, first, last`` (forecast dates)."""
        rows = self._fetch(
            "SELECT r.run_id, r.created_at, min(f.ds) AS first, max(f.ds) AS last "
            "FROM runs r JOIN forecasts f ON f.run_id = r.run_id "
            "WHERE r.kind = 'forecast' AND f.quantile IS NULL "
            "AND f.ds <= (SELECT max(ds) FROM sales) "
            "AND NOT EXISTS (SELECT 1 FROM forecast_scores s WHERE s.run_id = f.run_id "
            "AND s.model = f.model AND s.unique_id = f.unique_id AND s.ds = f.ds) "
            "GROUP BY r.run_id, r.created_at ORDER BY r.created_at, r.run_id")
        return [dict(r) for _, r in rows.iterrows()]

    def drop_stale_scores(self, since: Any = None, freq: str | None = None) -> int:
        """Delete the scores whose actual no longer equals the stored sales (a day corrected
        after it was scored: late returns, a re-export), of forecast days from ``since``, so
        they are scored again; how many. Only runs at the stored frequency ``freq`` (when
        given): a run at a coarser level is scored against summed periods."""
        self._writable()
        where, params = ["EXISTS (SELECT 1 FROM sales x WHERE x.unique_id = forecast_scores.unique_id "
                         "AND x.ds = forecast_scores.ds AND x.y IS DISTINCT FROM forecast_scores.y)"], []
        if since is not None:
            where.append("ds >= ?")
            params.append(pd.Timestamp(since).to_pydatetime())
        if freq is not None:
            where.append("run_id IN (SELECT run_id FROM runs WHERE freq = ?)")
            params.append(freq)
        cond = " AND ".join(where)
        with self.transaction():
            self._lock_for_write("forecast_scores")
            n = self._count(f"SELECT count(*) FROM forecast_scores WHERE {cond}", params)
            if n:
                self._run(f"DELETE FROM forecast_scores WHERE {cond}", params)
        return n

    def save_scores(self, scores: pd.DataFrame) -> int:
        """Append scored rows (:data:`FORECAST_SCORES` columns); rows already scored are
        skipped, so scoring twice stores each row once."""
        self._writable()
        if scores.empty:
            return 0
        from trendcast.data.store import table_spec

        with self.transaction():
            self._lock_for_write("forecast_scores")
            have = self._fetch(
                "SELECT model, unique_id, ds FROM forecast_scores WHERE run_id IN ("
                + ", ".join("?" * scores["run_id"].nunique()) + ")",
                [str(r) for r in scores["run_id"].unique()])
            if len(have):
                key = pd.MultiIndex.from_frame(scores[["model", "unique_id", "ds"]].astype(
                    {"ds": "datetime64[ns]"}))
                seen = pd.MultiIndex.from_frame(have.astype({"ds": "datetime64[ns]"}))
                scores = scores[~key.isin(seen)]
            cols = list(table_spec("forecast_scores").columns)
            return self.append("forecast_scores", scores[cols]) if len(scores) else 0

    def waiting_keys(self, since: Any = None) -> pd.DataFrame:
        """``unique_id, ds`` of the forecast dates waiting for their actual (from ``since``)."""
        where, params = ("AND ds >= ? ", [pd.Timestamp(since).to_pydatetime()]) if since is not None \
            else ("", [])
        out = self._fetch("SELECT DISTINCT unique_id, ds FROM forecast_scores WHERE y IS NULL "
                          f"{where}ORDER BY unique_id, ds", params)
        return out.assign(unique_id=out["unique_id"].astype(str), ds=pd.to_datetime(out["ds"]))

    def drop_waiting(self, keys: Sequence[tuple[str, Any]]) -> int:
        """Delete the waiting scores of these ``(unique_id, ds)``, so they are scored again
        (a product whose silence grew too long for a left-out row: zero sales); how many."""
        self._writable()
        total = 0
        with self.transaction():
            self._lock_for_write("forecast_scores")
            for uid, ds in keys:
                params = [str(uid), pd.Timestamp(ds).to_pydatetime()]
                cond = "y IS NULL AND unique_id = ? AND ds = ?"
                n = self._count(f"SELECT count(*) FROM forecast_scores WHERE {cond}", params)
                if n:
                    self._run(f"DELETE FROM forecast_scores WHERE {cond}", params)
                    total += n
        return total

    def waiting_scores(self) -> int:
        """Product-dates that stored forecasts cover without an actual yet: the product had no
        row though it sold in every period before (most likely left out of an export)."""
        return self._count("SELECT count(*) FROM (SELECT DISTINCT unique_id, ds FROM forecast_scores "
                           "WHERE y IS NULL) w")

    def scores(self, *, run_ids: Sequence[str] | None = None, ids: Sequence[str] | None = None,
               start: Any = None) -> pd.DataFrame:
        """Scored rows with the product's category (``category`` NULL when unknown); not the
        dates waiting for their actual (:meth:`waiting_scores`)."""
        where, params = ["TRUE"], []
        if run_ids is not None:
            where.append(f"s.run_id IN ({', '.join('?' * len(run_ids)) or 'NULL'})")
            params += list(run_ids)
        if ids is not None:
            where.append(f"s.unique_id IN ({', '.join('?' * len(ids)) or 'NULL'})")
            params += [str(i) for i in ids]
        if start is not None:
            where.append("s.ds >= ?")
            params.append(pd.Timestamp(start).to_pydatetime())
        where.append("s.y IS NOT NULL")  # a forecast date waiting for a left-out row
        return self._fetch(
            "SELECT s.*, p.category FROM forecast_scores s LEFT JOIN products p "
            f"ON p.unique_id = s.unique_id WHERE {' AND '.join(where)} "
            "ORDER BY s.origin, s.run_id, s.model, s.unique_id, s.ds", params)
