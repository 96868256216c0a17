"""Weekly, monthly and quarterly sales exported before their running period ends: the running
period is left out with a note and stored by the ingest after it ends (every backend)."""

from __future__ import annotations

import pandas as pd
import pytest

from trendcast.errors import InputFileError
from trendcast.services.ingest import ingest_file
from trendcast.services.jobfile import FileJob
from trendcast.services.update import as_jobs, ingest_all


def _file(tmp_path, dates, name="s.csv"):
    frame = pd.DataFrame({"unique_id": [u for u in ("A", "B") for _ in dates],
                          "ds": [*dates, *dates], "y": [float(i + 1) for i in range(2 * len(dates))]})
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


def _dates(store) -> list[str]:
    return sorted({f"{d:%Y-%m-%d}" for d in pd.to_datetime(store.read("sales")["ds"])})


def test_a_month_still_running_is_left_out_until_it_ends(store, tmp_path):
    path = _file(tmp_path, ["2026-09-01", "2026-10-01", "2026-11-01", "2026-12-01"])
    report = ingest_file(store, path, "sales", now=pd.Timestamp("2026-12-07 10:30"))
    # 1-6 December is not December's sales: the empty workspace reads the file as monthly
    assert _dates(store) == ["2026-09-01", "2026-10-01", "2026-11-01"]
    assert store.meta("freq") == "MS"
    assert any("2 sales row(s) of the month starting 2026-12-01 left out: the month has not "
               "ended yet (2026-12-07 10:30)" in n and "after the month ends" in n
               for n in report.notes)
    assert store.meta("week_label") is None  # not weekly: nothing to record
    report = ingest_file(store, path, "sales", now=pd.Timestamp("2027-01-01 06:00"))
    assert _dates(store)[-1] == "2026-12-01" and store.count("sales") == 8
    assert not any("left out" in n for n in report.notes)


def test_a_running_month_is_left_out_of_a_file_with_only_that_month(store, tmp_path):
    ingest_file(store, _file(tmp_path, ["2026-10-01", "2026-11-01"]), "sales",
                now=pd.Timestamp("2026-12-02"))
    # one date per series cannot show the frequency: the workspace's decides
    report = ingest_file(store, _file(tmp_path, ["2026-12-01"], "dec.csv"), "sales",
                         now=pd.Timestamp("2026-12-20"))
    assert report.batch_id is None and _dates(store) == ["2026-10-01", "2026-11-01"]


def test_a_running_quarter_is_left_out(store, tmp_path):
    path = _file(tmp_path, ["2026-01-01", "2026-04-01", "2026-07-01", "2026-10-01"])
    report = ingest_file(store, path, "sales", now=pd.Timestamp("2026-12-07"))
    assert store.meta("freq") == "QS-JAN" and _dates(store)[-1] == "2026-07-01"
    assert any("of the quarter starting 2026-10-01 left out: the quarter has not ended" in n
               for n in report.notes)
    ingest_file(store, path, "sales", now=pd.Timestamp("2026-12-31 23:59"))
    assert _dates(store)[-1] == "2026-07-01"  # 31 December is still in it
    ingest_file(store, path, "sales", now=pd.Timestamp("2027-01-01"))
    assert _dates(store)[-1] == "2026-10-01"


def test_months_dated_by_their_last_day_keep_the_day_rule(store, tmp_path):
    ends = _file(tmp_path, ["2026-09-30", "2026-10-31", "2026-11-30", "2026-12-31"])
    report = ingest_file(store, ends, "sales", now=pd.Timestamp("2026-12-01 08:00"))
    assert store.meta("freq") == "ME" and _dates(store)[-1] == "2026-11-30"  # November has ended
    assert [n for n in report.notes if "left out" in n] == [
        "2 sales row(s) dated 2026-12-31 left out: the day has not ended yet (2026-12-01 08:00), "
        "so its sales so far would look like a slow day; ingest them after the day ends"]


def test_daily_sales_starting_on_the_first_are_not_read_as_a_month(store, tmp_path):
    days = _file(tmp_path, [f"2026-12-0{d}" for d in range(1, 8)])
    report = ingest_file(store, days, "sales", now=pd.Timestamp("2026-12-07 10:30"))
    assert store.meta("freq") == "D" and _dates(store)[-1] == "2026-12-06"
    assert [n for n in report.notes if "left out" in n] == [
        "2 sales row(s) dated 2026-12-07 left out: the day has not ended yet (2026-12-07 10:30), "
        "so its sales so far would look like a slow day; ingest them after the day ends"]


def test_weeks_are_read_by_their_first_day_unless_the_workspace_says_otherwise(store, tmp_path):
    path = _file(tmp_path, ["2026-11-16", "2026-11-23", "2026-11-30", "2026-12-07"])  # Mondays
    report = ingest_file(store, path, "sales", now=pd.Timestamp("2026-12-09 10:00"))
    # the week of 7-13 December is running: stored as a whole week it would look slow
    assert _dates(store)[-1] == "2026-11-30" and store.meta("freq") == "W-MON"
    assert store.meta("week_label") == "start"
    assert any("of the week starting 2026-12-07 left out" in n and "--week-label end" in n
               for n in report.notes)
    assert any("read as dated by the week's first day (recorded" in n for n in report.notes)
    # the same export, told that its weeks are dated by their last day, stores the week now
    report = ingest_file(store, path, "sales", now=pd.Timestamp("2026-12-09 10:00"),
                         week_label="end")
    assert _dates(store)[-1] == "2026-12-07" and store.meta("week_label") == "end"
    assert any("now read as dated by the week's last day (--week-label end; was start)" in n
               for n in report.notes)
    later = _file(tmp_path, ["2026-12-14"], "later.csv")  # the workspace keeps its reading
    ingest_file(store, later, "sales", now=pd.Timestamp("2026-12-15"))
    assert _dates(store)[-1] == "2026-12-14"


def test_weekly_sales_through_update_take_the_week_label(store, tmp_path):
    fridays = _file(tmp_path, ["2026-11-20", "2026-11-27", "2026-12-04"])  # weeks ending Friday
    rows, notes = ingest_all(store, [FileJob(fridays, week_label="end")],
                             now=pd.Timestamp("2026-12-05 09:00"))
    assert rows == 6 and _dates(store)[-1] == "2026-12-04" and store.meta("week_label") == "end"
    assert not any("left out" in n or "week" in n for n in notes)
    # the next day's job names no option: the workspace's reading holds
    _, notes = ingest_all(store, as_jobs([_file(tmp_path, ["2026-12-11"], "next.csv")]),
                          now=pd.Timestamp("2026-12-12 09:00"))
    assert _dates(store)[-1] == "2026-12-11" and not any("left out" in n for n in notes)


def test_a_monthly_file_through_update_leaves_the_running_month_out(store, tmp_path):
    path = _file(tmp_path, ["2026-10-01", "2026-11-01", "2026-12-01"])
    _, notes = ingest_all(store, as_jobs([path]), now=pd.Timestamp("2026-12-07"))
    assert _dates(store) == ["2026-10-01", "2026-11-01"]
    assert any(n.startswith("s.csv: 2 sales row(s) of the month starting 2026-12-01") for n in notes)


def test_an_unknown_week_label_is_refused(store, tmp_path):
    with pytest.raises(InputFileError, match="week label 'friday'"):
        ingest_file(store, _file(tmp_path, ["2026-11-20"]), "sales", week_label="friday")
    assert store.count("sales") == 0


def test_weeks_dated_on_fridays_are_read_as_week_ends_by_default(store, tmp_path):
    """Walmart's weeks end on the Friday they are dated by: the export made the next day
    stores the week that has just ended (read as a start, every export's last week would
    wait, and an export holding only the latest week would never store one)."""
    fridays = _file(tmp_path, ["2026-11-20", "2026-11-27", "2026-12-04"])
    report = ingest_file(store, fridays, "sales", now=pd.Timestamp("2026-12-05 09:00"))
    assert _dates(store)[-1] == "2026-12-04" and store.meta("week_label") == "end"
    assert not any("left out" in n for n in report.notes)
    assert any("dated on Fridays read as dated by the week's last day" in n and
               "--week-label start" in n for n in report.notes)
