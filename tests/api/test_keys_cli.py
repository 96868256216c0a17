"""`trendcast keys create|list|revoke` and `trendcast serve --help`."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from trendcast.cli import app
from trendcast.data.store import open_store
from trendcast.errors import DataValidationError, NotFoundError
from trendcast.services.keys import InvalidKeyError, authenticate


def test_keys_create_list_revoke(db_path):
    runner = CliRunner()
    res = runner.invoke(app, ["keys", "create", "--role", "analyst", "--name", "ci", "--db", str(db_path)])
    assert res.exit_code == 0, res.output
    lines = res.stdout.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tc_")  # the key alone, on stdout
    key = lines[0]
    key_id = key.split("_")[1]
    with open_store(db_path) as store:
        assert authenticate(store, key).role == "analyst"
    listed = json.loads(runner.invoke(app, ["keys", "list", "--json", "--db", str(db_path)]).stdout)
    assert listed == [{**listed[0], "key_id": key_id, "name": "ci", "role": "analyst", "active": True}]
    assert key.split("_", 2)[2] not in runner.invoke(app, ["keys", "list", "--db", str(db_path)]).stdout
    res = runner.invoke(app, ["keys", "revoke", key_id, "--db", str(db_path)])
    assert res.exit_code == 0 and "revoked" in res.stdout
    with open_store(db_path) as store:
        try:
            authenticate(store, key)
            raise AssertionError("a revoked key still authenticates")
        except InvalidKeyError as exc:
            assert "revoked" in str(exc)


def test_keys_errors(db_path):
    runner = CliRunner()
    res = runner.invoke(app, ["keys", "create", "--role", "root", "--db", str(db_path)])
    assert isinstance(res.exception, DataValidationError) and "viewer, analyst, admin" in str(res.exception)
    res = runner.invoke(app, ["keys", "create", "--db", str(db_path)])
    assert res.exit_code != 0  # --role is required
    res = runner.invoke(app, ["keys", "revoke", "ffffffffffff", "--db", str(db_path)])
    assert isinstance(res.exception, NotFoundError)


def test_serve_help_lists_the_options():
    res = CliRunner().invoke(app, ["serve", "--help"])
    assert res.exit_code == 0
    for option in ("--host", "--port", "--db", "--max-upload-mb", "--workers"):
        assert option in res.stdout
