"""`trendcast serve --schedule` and `trendcast prune` from the command line: the scheduled
job updates and prunes, prints its summary, and survives a failure."""

from __future__ import annotations

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from conftest import make_sales
from trendcast import cli
from trendcast.data.store import open_store
from trendcast.services.versions import train_version


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "shop.duckdb"
    sales = make_sales(n_series=3, n_days=120)
    with open_store(path) as store:
        store.upsert("sales", sales)
        train_version(store, horizon=7, models=["SeasonalNaive"])
    return path


def test_the_schedule_runs_update_then_prune_on_its_cron(db):
    scheduler = cli._schedule_updates(str(db), "0 6 * * *", keep_days=30)
    try:
        (job,) = scheduler.get_jobs()
        assert job.func is cli._scheduled_update and job.args == (str(db), 30, None)
        assert str(job.trigger.fields[job.trigger.FIELD_NAMES.index("hour")]) == "6"
    finally:
        scheduler.shutdown(wait=False)
    with pytest.raises(typer.BadParameter, match="every 5"):
        cli._schedule_updates(str(db), "every 5 minutes")


def test_the_schedule_keeps_the_workspaces_clock_not_the_servers(db, tmp_path, capsys):
    """A shop in Shanghai on a UTC server: '0 6 * * *' is 06:00 in Shanghai (22:00 UTC)."""
    with open_store(db) as store:
        store.meta_set("tz", "Asia/Shanghai")
    scheduler = cli._schedule_updates(str(db), "0 6 * * *")
    try:
        (job,) = scheduler.get_jobs()
        assert str(job.trigger.timezone) == "Asia/Shanghai"
        when = job.trigger.get_next_fire_time(None, pd.Timestamp("2024-05-01 12:00", tz="UTC").to_pydatetime())
        assert pd.Timestamp(when).tz_convert("UTC") == pd.Timestamp("2024-05-01 22:00", tz="UTC")
    finally:
        scheduler.shutdown(wait=False)
    assert "at '0 6 * * *' in Asia/Shanghai (the workspace's time zone)" in capsys.readouterr().err
    new = tmp_path / "new.duckdb"  # no workspace yet: the configured zone
    scheduler = cli._schedule_updates(str(new), "0 6 * * *")
    try:
        assert str(scheduler.get_jobs()[0].trigger.timezone) == cli._settings().tz
    finally:
        scheduler.shutdown(wait=False)


def test_a_scheduled_run_prints_its_summaries_and_survives_a_running_update(db, capsys):
    cli._scheduled_update(str(db), 30)
    printed = capsys.readouterr().err  # the status console
    assert "update: 0 rows from 0 file(s)" in printed and "prune: deleted 0 run(s)" in printed
    with open_store(db) as store:
        assert store.count("runs") == 2  # the version's validation and today's forecast
        assert store.take_lease("update", "cron elsewhere", pd.Timedelta(hours=1)) is None
    cli._scheduled_update(str(db), None)  # must not raise: the scheduler tries again next time
    printed = capsys.readouterr().err  # the status console
    assert "scheduled update failed: another update has been running" in printed
    with open_store(db, read_only=True) as store:
        assert store.count("runs") == 2


def test_prune_from_the_command_line(db):
    runner = CliRunner()
    result = runner.invoke(cli.app, ["prune", "--dry-run", "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert "prune: would delete 0 run(s)" in result.output
    result = runner.invoke(cli.app, ["serve", "--keep-days", "30", "--db", str(db)])
    said = " ".join(result.output.replace("│", " ").split())  # rich wraps it in a box
    assert result.exit_code == 2 and "give --schedule too" in said
