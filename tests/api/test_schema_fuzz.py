"""Property-based fuzzing of the API from its own OpenAPI schema (schemathesis): whatever a
client sends, the server answers without a 5xx and as the schema documents (status codes,
content types, response bodies, Allow headers).

Bounded to run in well under a minute: few examples per operation, a tiny workspace, and the
job runners replaced by an instant stub (the real ones are tested in test_api_jobs.py), so
fuzzed job parameters exercise validation and queueing without starting real model fits.
The app is built at import (schemathesis needs its schema to parametrize); the data is
added by a fixture when the tests run.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import positive_data_acceptance

from conftest import make_sales
from trendcast.api import jobs as jobs_module
from trendcast.api.app import create_app
from trendcast.config import Settings
from trendcast.data.store import open_store
from trendcast.services.forecast import run_backtest, run_forecast
from trendcast.services.ingest import ingest_frames
from trendcast.services.keys import create_key

_FOLDER = tempfile.TemporaryDirectory(prefix="trendcast-fuzz-")  # removed at interpreter exit
DB = Path(_FOLDER.name) / "fuzz.duckdb"
# schemathesis sends many invalid keys on purpose: lift the failed-key limit (tested in
# test_api_security.py), or its auth checks would meet 429s
APP = create_app(DB, max_upload_mb=1, workers=1, settings=Settings(auth_max_failures=10**9))
schema = schemathesis.openapi.from_asgi("/openapi.json", APP).include(path_regex=r"^/api/")


def _instant_runner(store, params, progress):
    progress("stub", 1, 1)
    return "stub-run"


@pytest.fixture(scope="module")
def admin_key():
    # A connection of its own: schemathesis starts and stops the app's lifespan (which opens
    # and closes the app's store) around each operation's test.
    with open_store(DB) as store:
        ingest_frames(store, {"sales": make_sales(n_series=2, n_days=60)}, source="fuzz")
        run_forecast(store, horizon=3, models=["Naive"], quantiles=[0.5])
        run_backtest(store, horizon=3, n_windows=1, models=["Naive"], quantiles=[0.5])
        return create_key(store, "admin", "fuzz")


@pytest.fixture(autouse=True)
def _instant_jobs(monkeypatch):
    monkeypatch.setitem(jobs_module.RUNNERS, "forecast", _instant_runner)
    monkeypatch.setitem(jobs_module.RUNNERS, "backtest", _instant_runner)
    monkeypatch.setitem(jobs_module.RUNNERS, "train", _instant_runner)
    monkeypatch.setitem(jobs_module.RUNNERS, "update", _instant_runner)


@schema.parametrize()
@settings(max_examples=4, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_api_answers_every_input_as_documented(case, admin_key):
    # Every default check but positive_data_acceptance: some schema-valid requests are refused
    # by rules a JSON schema cannot state (a file's type by its name, ids that must exist,
    # CSV content), with a 4xx that says why.
    case.call_and_validate(headers={"X-API-Key": admin_key}, excluded_checks=[positive_data_acceptance])
