"""Durations: parsing, risk-level maps, and deadline arithmetic over Kazakh calendars."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import holidays
import pytest

from workflows import Duration, DurationSpec, is_working_day, parse_duration, shift_working_days
from workflows.durations import _supported_countries, is_known_calendar

ALMATY = ZoneInfo("Asia/Almaty")


def almaty(*args: int) -> datetime:
    return datetime(*args, tzinfo=ALMATY)


@pytest.mark.parametrize(
    ("text", "nominal"),
    [
        ("PT24H", timedelta(hours=24)),
        ("P3D", timedelta(days=3)),
        ("P1DT12H", timedelta(days=1, hours=12)),
        ("P2W", timedelta(days=14)),
        ("PT30M", timedelta(minutes=30)),
        ("PT1.5H", timedelta(minutes=90)),
        ("PT90S", timedelta(seconds=90)),
        ("pt4h", timedelta(hours=4)),
        ("5 working days", timedelta(days=5)),
        ("1 working day", timedelta(days=1)),
        ("  3 Working Days ", timedelta(days=3)),
    ],
)
def test_parses_iso_and_working_days(text, nominal):
    duration = parse_duration(text)
    assert duration.text == text
    assert duration.is_valid
    assert duration.nominal == nominal


def test_a_month_counts_as_an_average_month_for_comparisons():
    assert parse_duration("P1M").nominal == timedelta(days=365.2425 / 12)
    assert parse_duration("P1Y").nominal == parse_duration("P12M").nominal


def test_working_days_are_flagged_and_counted():
    duration = parse_duration("10 working days")
    assert duration.is_working_days
    assert duration.working_days == 10
    assert not parse_duration("P10D").is_working_days


@pytest.mark.parametrize("text", ["", "3 days", "P", "PT", "24H", "P1.5D", "P-1D", "-P1D", "working days", "P1DT", "x"])
def test_rejects_what_does_not_parse(text):
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(text)


@pytest.mark.parametrize("text", ["P0D", "PT0H", "PT0S", "0 working days", "P0Y0M0W0DT0H0M0S"])
def test_rejects_zero(text):
    with pytest.raises(ValueError, match="not positive"):
        parse_duration(text)


@pytest.mark.parametrize("value", [None, 24, 1.5, ["PT1H"]])
def test_rejects_what_is_not_text(value):
    with pytest.raises(ValueError, match="must be text"):
        parse_duration(value)


def test_a_lenient_duration_keeps_the_text_and_the_reason():
    duration = Duration.lenient("three days")
    assert not duration.is_valid
    assert duration.error == "syntax"
    assert Duration.lenient("P0D").error == "not_positive"
    with pytest.raises(ValueError):
        duration.add_to(datetime(2025, 1, 1, tzinfo=UTC))
    with pytest.raises(ValueError):
        _ = duration.nominal


def test_elapsed_time_is_exact_and_returned_in_utc():
    start = almaty(2025, 6, 2, 9, 0)
    due = parse_duration("PT24H").add_to(start)
    assert due.tzinfo is UTC
    assert due == start + timedelta(hours=24)


def test_days_keep_the_local_time_across_a_daylight_saving_change():
    berlin = ZoneInfo("Europe/Berlin")
    start = datetime(2026, 3, 28, 12, 0, tzinfo=berlin)  # clocks go forward on the 29th
    assert parse_duration("P1D").add_to(start, tz=berlin) == datetime(2026, 3, 29, 12, 0, tzinfo=berlin)
    assert parse_duration("P1D").add_to(start, tz=berlin) - start == timedelta(hours=23)
    assert parse_duration("PT24H").add_to(start, tz=berlin) - start == timedelta(hours=24)


def test_days_then_hours():
    start = almaty(2025, 6, 2, 9, 0)
    assert parse_duration("P1DT12H").add_to(start) == almaty(2025, 6, 3, 21, 0)


def test_months_land_on_the_same_day_or_the_last_of_a_short_month():
    assert parse_duration("P1M").add_to(almaty(2026, 1, 31, 10, 0)) == almaty(2026, 2, 28, 10, 0)
    assert parse_duration("P1M").add_to(almaty(2024, 1, 31, 10, 0)) == almaty(2024, 2, 29, 10, 0)
    assert parse_duration("P3M").add_to(almaty(2025, 11, 15, 10, 0)) == almaty(2026, 2, 15, 10, 0)
    assert parse_duration("P1Y").subtract_from(almaty(2025, 3, 1, 10, 0)) == almaty(2024, 3, 1, 10, 0)


def test_a_string_time_zone_is_accepted_and_almaty_is_the_default():
    start = datetime(2025, 6, 2, 20, 0, tzinfo=UTC)  # 01:00 on the 3rd in Almaty (UTC+5)
    assert parse_duration("P1D").add_to(start) == parse_duration("P1D").add_to(start, tz="Asia/Almaty")


def test_a_naive_start_is_refused():
    with pytest.raises(ValueError, match="aware"):
        parse_duration("P1D").add_to(datetime(2025, 1, 1, 9, 0))


@pytest.mark.parametrize(
    ("start", "text", "due"),
    [
        # Friday to Monday, over the weekend.
        (almaty(2025, 12, 12, 10, 0), "1 working day", almaty(2025, 12, 15, 10, 0)),
        # Independence Day, Tuesday 16 December 2025.
        (almaty(2025, 12, 15, 10, 0), "1 working day", almaty(2025, 12, 17, 10, 0)),
        (almaty(2025, 12, 12, 10, 0), "2 working days", almaty(2025, 12, 17, 10, 0)),
        # New Year: 1 and 2 January 2026 (Thursday, Friday), then the weekend.
        (almaty(2025, 12, 31, 10, 0), "1 working day", almaty(2026, 1, 5, 10, 0)),
        # 8 March 2026 is a Sunday; Monday the 9th is the day off instead.
        (almaty(2026, 3, 6, 10, 0), "1 working day", almaty(2026, 3, 10, 10, 0)),
        # Nauryz 21-23 March 2026 falls on a weekend; the 24th and 25th are off instead.
        (almaty(2026, 3, 20, 10, 0), "1 working day", almaty(2026, 3, 26, 10, 0)),
        # Saturday 4 May 2024 was a working day, in exchange for Wednesday 8 May.
        (almaty(2024, 5, 3, 10, 0), "1 working day", almaty(2024, 5, 4, 10, 0)),
        (almaty(2024, 5, 7, 10, 0), "1 working day", almaty(2024, 5, 10, 10, 0)),
        # Starting on a Saturday: the first working day after it is Monday.
        (almaty(2025, 12, 13, 10, 0), "1 working day", almaty(2025, 12, 15, 10, 0)),
        (almaty(2025, 12, 1, 9, 30), "5 working days", almaty(2025, 12, 8, 9, 30)),
    ],
)
def test_working_days_skip_weekends_and_kazakh_public_holidays(start, text, due):
    assert parse_duration(text).add_to(start, calendar="KZ") == due


def test_without_a_calendar_only_weekends_are_skipped():
    assert parse_duration("1 working day").add_to(almaty(2025, 12, 15, 10, 0)) == almaty(2025, 12, 16, 10, 0)


def test_working_days_are_counted_in_the_local_time_zone():
    # 20:00 UTC on Friday 12 December is already Saturday 01:00 in Almaty.
    start = datetime(2025, 12, 12, 20, 0, tzinfo=UTC)
    assert parse_duration("1 working day").add_to(start, "KZ") == almaty(2025, 12, 15, 1, 0)
    # In London it is still Friday evening, so Monday evening is one working day later.
    london = ZoneInfo("Europe/London")
    assert parse_duration("1 working day").add_to(start, "KZ", london) == datetime(2025, 12, 15, 20, 0, tzinfo=UTC)


def test_reminders_count_back_from_a_deadline():
    deadline = almaty(2025, 12, 17, 10, 0)  # the Wednesday after Independence Day
    assert parse_duration("1 working day").subtract_from(deadline, "KZ") == almaty(2025, 12, 15, 10, 0)
    assert parse_duration("PT4H").subtract_from(deadline, "KZ") == almaty(2025, 12, 17, 6, 0)
    assert parse_duration("P1DT1H").subtract_from(deadline) == almaty(2025, 12, 16, 9, 0)


def test_subtracting_undoes_adding_on_working_days():
    start = almaty(2026, 3, 20, 10, 0)
    duration = parse_duration("3 working days")
    assert duration.subtract_from(duration.add_to(start, "KZ"), "KZ") == start


def test_an_unknown_calendar_is_an_error():
    with pytest.raises(ValueError, match="unknown calendar"):
        parse_duration("1 working day").add_to(almaty(2025, 1, 6, 10, 0), "XX")


def test_working_day_helpers():
    assert not is_working_day(date(2025, 12, 16), "KZ")
    assert is_working_day(date(2025, 12, 16))
    assert not is_working_day(date(2025, 12, 13))
    assert is_working_day(date(2024, 5, 4), "KZ")
    assert shift_working_days(date(2025, 12, 17), -1, "KZ") == date(2025, 12, 15)


class TestRiskLevels:
    def test_one_value_for_every_level(self):
        spec = DurationSpec.of("P3D")
        assert spec.is_uniform
        assert {spec.for_risk(level).text for level in ("high", "medium", "low")} == {"P3D"}

    def test_each_level_its_own(self):
        spec = DurationSpec.of({"high": "PT24H", "medium": "P3D", "low": "P5D"})
        assert [spec.for_risk(level).text for level in ("high", "medium", "low")] == ["PT24H", "P3D", "P5D"]

    def test_a_missing_level_falls_back_to_the_longest_given(self):
        spec = DurationSpec.of({"high": "PT24H", "medium": "P3D"})
        assert spec.for_risk("low").text == "P3D"
        assert DurationSpec.of({"low": "P5D"}).for_risk("high").text == "P5D"
        assert DurationSpec.of({"high": "P7D", "low": "P2D"}).for_risk("medium").text == "P7D"

    def test_working_days_compare_by_their_nominal_length(self):
        spec = DurationSpec.of({"high": "2 working days", "low": "P1D"})
        assert spec.for_risk("medium").text == "2 working days"

    def test_an_unknown_level_is_refused(self):
        with pytest.raises(ValueError, match="risk level"):
            DurationSpec.of("P1D").for_risk("critical")
        with pytest.raises(ValueError, match="unknown risk levels"):
            DurationSpec.of({"critical": "P1D"})

    def test_to_document_gives_back_what_was_written(self):
        assert DurationSpec.of("P3D").to_document() == "P3D"
        written = {"high": "PT24H", "low": "5 working days"}
        assert DurationSpec.of(written).to_document() == written


def test_the_known_calendars_are_every_country_the_holidays_package_supports():
    """Read from the package's registry, without importing each country: the same codes, aliases included."""
    supported = set(holidays.list_supported_countries())
    assert {"KZ", "KAZ", "RU", "UZ"} <= supported
    assert _supported_countries() == supported and all(is_known_calendar(code) for code in supported)
    assert not any(is_known_calendar(code) for code in ("XX", "kz", "", None, 7))
