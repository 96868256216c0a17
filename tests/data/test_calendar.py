from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from trendcast.data.calendar import festival_calendar, merge_calendars, user_events
from trendcast.errors import DataValidationError

COLUMNS = ["ds", "name", "kind", "region", "source"]


@pytest.fixture(scope="module")
def cal() -> pd.DataFrame:
    return festival_calendar("2024-01-01", "2025-12-31")


def _days(cal: pd.DataFrame, name: str) -> list[pd.Timestamp]:
    return list(cal.loc[cal["name"] == name, "ds"])


def test_schema_sorted_and_unique(cal: pd.DataFrame) -> None:
    assert list(cal.columns) == COLUMNS
    assert cal["ds"].dtype == "datetime64[ns]"
    assert (cal["ds"] == cal["ds"].dt.normalize()).all()
    assert not cal.duplicated(["ds", "name"]).any()
    assert cal.equals(cal.sort_values(["ds", "name"]).reset_index(drop=True))
    assert cal["ds"].between("2024-01-01", "2025-12-31").all()
    assert set(cal["kind"]) == {"holiday", "festival", "presale"}


def test_shopping_festivals_2024(cal: pd.DataFrame) -> None:
    assert pd.Timestamp("2024-11-11") in _days(cal, "Double 11")
    assert pd.Timestamp("2024-06-18") in _days(cal, "618")
    assert pd.Timestamp("2024-12-12") in _days(cal, "Double 12")
    assert _days(cal, "Black Friday") == [pd.Timestamp("2024-11-29"), pd.Timestamp("2025-11-28")]
    assert _days(cal, "Cyber Monday") == [pd.Timestamp("2024-12-02"), pd.Timestamp("2025-12-01")]
    bf = cal[cal["name"] == "Black Friday"]
    assert set(bf["region"]) == {"US"} and set(bf["kind"]) == {"festival"}
    assert set(cal.loc[cal["name"] == "Double 11", "region"]) == {"CN"}


def test_presale_windows(cal: pd.DataFrame) -> None:
    pre618 = _days(cal, "618 presale")
    assert len(pre618) == 2 * 17
    assert min(pre618) == pd.Timestamp("2024-06-01") and pd.Timestamp("2024-06-17") in pre618
    pre11 = [d for d in _days(cal, "Double 11 presale") if d.year == 2024]
    assert pre11 == list(pd.date_range("2024-10-20", "2024-11-10"))
    assert set(cal.loc[cal["name"].str.contains("presale"), "kind"]) == {"presale"}


def test_chinese_new_year_and_spring_festival_period(cal: pd.DataFrame) -> None:
    cny = cal[(cal["source"] == "holidays") & (cal["name"] == "Chinese New Year (Spring Festival)")]
    firsts = cny.groupby(cny["ds"].dt.year)["ds"].min()
    assert firsts[2024] == pd.Timestamp("2024-02-10")
    assert firsts[2025] == pd.Timestamp("2025-01-29")
    period = [d for d in _days(cal, "Spring Festival period") if d.year == 2024]
    assert period == list(pd.date_range("2024-02-03", "2024-02-17"))
    assert len(period) == 15
    period25 = [d for d in _days(cal, "Spring Festival period") if d.year == 2025]
    assert period25 == list(pd.date_range("2025-01-22", "2025-02-05"))


def test_public_holidays_in_english(cal: pd.DataFrame) -> None:
    national = cal[cal["name"] == "National Day"]
    assert {d.month for d in national["ds"]} == {10}
    assert pd.Timestamp("2024-10-01") in list(national["ds"])
    assert set(national["kind"]) == {"holiday"} and set(national["source"]) == {"holidays"}
    assert not cal["name"].str.contains("[\u4e00-\u9fff]").any()  # no Chinese names


def test_without_public_holidays_and_clipping() -> None:
    cal = festival_calendar(dt.date(2024, 11, 1), pd.Timestamp("2024-11-30"),
                            include_public_holidays=False)
    assert (cal["source"] == "trendcast").all()
    assert cal["ds"].min() >= pd.Timestamp("2024-11-01")
    assert cal["ds"].max() <= pd.Timestamp("2024-11-30")
    assert set(cal["name"]) == {"Double 11", "Double 11 presale", "Black Friday"}
    # A window straddling New Year keeps only the part of the Spring Festival period inside it.
    jan = festival_calendar(dt.datetime(2025, 1, 25, 15, 30), "2025-01-31")
    assert _days(jan, "Spring Festival period") == list(pd.date_range("2025-01-25", "2025-01-31"))


def test_start_after_end_raises() -> None:
    with pytest.raises(DataValidationError, match=r"2025-01-01.*2024-01-01"):
        festival_calendar("2025-01-01", "2024-01-01")


def test_bad_start_raises() -> None:
    with pytest.raises(DataValidationError, match="start"):
        festival_calendar("not a date", "2024-01-01")


def test_user_events_expand_and_defaults() -> None:
    raw = pd.DataFrame({
        "ds": ["2024-03-01", "2024-04-02", "2024-03-02"],
        "name": ["Brand day", "Launch", "Brand day"],
        "end": ["2024-03-03", None, ""],
        "kind": ["promo", None, "promo"],
    })
    ev = user_events(raw, source="shop")
    assert list(ev.columns) == COLUMNS
    assert ev["ds"].dtype == "datetime64[ns]"
    brand = ev[ev["name"] == "Brand day"]
    # The single-day duplicate on 2024-03-02 collapses into the expanded range.
    assert list(brand["ds"]) == list(pd.date_range("2024-03-01", "2024-03-03"))
    launch = ev[ev["name"] == "Launch"].iloc[0]
    assert launch["ds"] == pd.Timestamp("2024-04-02")
    assert launch["kind"] == "custom" and launch["region"] == ""
    assert set(ev["source"]) == {"shop"}
    assert ev["ds"].is_monotonic_increasing


def test_user_events_bad_date_names_row() -> None:
    raw = pd.DataFrame({"ds": ["2024-01-01", "2024-01-02", "2024-13-45"], "name": ["a", "b", "c"]})
    with pytest.raises(DataValidationError, match=r"row 3.*'ds'") as info:
        user_events(raw)
    assert info.value.problems[0]["row"] == 3
    assert info.value.problems[0]["column"] == "ds"


def test_user_events_rejects_missing_column_and_reversed_range() -> None:
    with pytest.raises(DataValidationError, match="name"):
        user_events(pd.DataFrame({"ds": ["2024-01-01"]}))
    reversed_range = pd.DataFrame({"ds": ["2024-01-05"], "name": ["x"], "end": ["2024-01-01"]})
    with pytest.raises(DataValidationError, match="row 1"):
        user_events(reversed_range)


def test_merge_calendars_drops_duplicates(cal: pd.DataFrame) -> None:
    mine = user_events(pd.DataFrame({"ds": ["2024-11-11", "2024-05-20"],
                                     "name": ["Double 11", "520"], "region": ["CN", "CN"]}))
    merged = merge_calendars(cal, mine, cal)
    assert len(merged) == len(cal) + 1
    assert not merged.duplicated(["ds", "name", "region"]).any()
    assert merged["ds"].is_monotonic_increasing
    # First frame wins on duplicates.
    d11 = merged[(merged["name"] == "Double 11") & (merged["ds"] == "2024-11-11")]
    assert d11["source"].tolist() == ["trendcast"]
    assert list(merge_calendars().columns) == COLUMNS


def _events(*rows: tuple[str, str, str]) -> pd.DataFrame:
    return user_events(pd.DataFrame(rows, columns=["ds", "name", "region"]), source="user")


def test_events_of_several_regions_are_left_out_of_every_products_flags() -> None:
    """Favorita's calendar: holidays of cities and provinces besides the nation's."""
    from trendcast.data.calendar import shop_wide

    cal = _events(("2024-03-02", "Fundacion de Manta", "Manta"),
                  ("2024-04-01", "Provincializacion de Cotopaxi", "Cotopaxi"),
                  ("2024-04-02", "Fundacion de Manta 2", "Manta"),
                  ("2024-05-01", "Dia del Trabajo", "Ecuador"),
                  ("2024-05-02", "Labour day", "EC"),
                  ("2024-05-03", "Own event", ""),
                  ("2024-10-01", "国庆", "全国"))
    out = shop_wide(cal)
    assert out["name"].tolist() == ["Dia del Trabajo", "Labour day", "Own event", "国庆"]
    assert out.attrs["notes"] == [
        "calendar: 3 event row(s) of 2 regions (Manta (2), Cotopaxi (1)) not used as flags for every "
        "product: a product is not in every region; events without a region or of a whole country "
        "are used"]


def test_one_region_below_the_country_is_the_shops_own() -> None:
    """M5 CA_1's SNAP days in US-CA, `festivals --subdiv CA`: kept for every product."""
    from trendcast.data.calendar import shop_wide

    cal = _events(("2016-01-01", "SNAP_CA", "US-CA"), ("2016-01-02", "SNAP_CA", "US-CA"),
                  ("2016-07-04", "IndependenceDay", "US"))
    out = shop_wide(cal)
    assert len(out) == 3 and "notes" not in out.attrs
    assert len(shop_wide(festival_calendar("2024-01-01", "2024-12-31", country="US", subdiv="CA"))) > 10
