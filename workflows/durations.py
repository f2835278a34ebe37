"""Durations of the definition format and the deadline arithmetic built on them.

Semantics, chosen so that a deadline reads the way a person would count it:

* ``PT..`` parts (hours, minutes, seconds) are elapsed time: ``PT24H`` is exactly
  24 hours later, whatever the clocks do.
* ``P..`` date parts (years, months, weeks, days) are calendar time in the
  case's time zone: ``P3D`` lands at the same local time of day three dates
  later; ``P1M`` on the same day of the next month, or its last day if shorter.
  ``P1DT12H`` adds the day first, then the 12 hours.
* ``N working days`` lands at the same local time of day on the N-th working
  day after the start's local date. A working day is one that is not a weekend
  day (Saturday and Sunday, or the calendar country's weekend) nor a public
  holiday of the calendar country; weekend days that the country moved a
  working day to count as working days. Without a calendar only weekends are
  skipped. Starting on a Saturday, one working day ends on Monday at the same
  time; starting on a Friday, too. A ``WorkingCalendar`` passed instead of a
  country code adds the country's own corrections on top of the package's
  days: its ``days_off`` never count, its ``working_days`` always do.
* Subtracting (for reminders before a deadline) mirrors adding: the elapsed
  part is taken off first, then the calendar part, counting working days
  backwards from the deadline's local date.

For comparisons (is a reminder shorter than a deadline?) every duration has a
``nominal`` length: elapsed parts as they are, a day as 24 hours, a month as an
average Gregorian month (30.436875 days), and a working day as one day, the
least time N working days can take.
"""

import calendar as _calendar
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cached_property, lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import holidays
from holidays.registry import EntityLoader

#: The risk levels a duration map may name, most urgent first.
RISK_LEVELS = ("high", "medium", "low")

#: The zone days are counted in unless the caller says otherwise.
DEFAULT_TIMEZONE = "Asia/Almaty"

_AVERAGE_MONTH = timedelta(days=365.2425 / 12)
_NUMBER = r"\d+(?:[.,]\d+)?"
_ISO = re.compile(
    r"P(?!$)(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    rf"(?:T(?=\d)(?:(?P<hours>{_NUMBER})H)?(?:(?P<minutes>{_NUMBER})M)?(?:(?P<seconds>{_NUMBER})S)?)?"
)
_WORKING_DAYS = re.compile(r"(?P<count>\d+)\s+working\s+days?", re.IGNORECASE)
# A guard against "999999999 working days" looping for ages or overflowing dates.
_MAX_DAYS = 366 * 100


@dataclass(frozen=True)
class WorkingCalendar:
    """A country's working days: the ``holidays`` package's, corrected by days named off or working."""

    #: ISO country code whose weekends and public holidays apply, or None for weekends only.
    country: str | None
    #: Days that are not working days whatever the package says (a holiday decreed late).
    days_off: frozenset[date] = frozenset()
    #: Days that are working days whatever the package says (a working Saturday).
    working_days: frozenset[date] = frozenset()

    def is_working_day(self, day: date) -> bool:
        """Return whether ``day`` is a working day; raise ValueError for an unknown country."""
        if day in self.working_days:
            return True
        if day in self.days_off:
            return False
        return is_working_day(day, self.country)


#: What a duration counts its working days by: a country code, a corrected calendar, or None (weekends only).
CalendarLike = "str | WorkingCalendar | None"


class DurationError(ValueError):
    """A text that is not a usable duration; ``reason`` is ``syntax`` or ``not_positive``."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Duration:
    """A parsed duration; an invalid one keeps its text and says why in ``error``."""

    text: str
    months: int = 0
    days: int = 0
    #: The elapsed-time part (hours, minutes, seconds).
    exact: timedelta = timedelta(0)
    working_days: int = 0
    is_working_days: bool = False
    #: ``None`` for a valid duration, else the reason it is not (``syntax`` or ``not_positive``).
    error: str | None = None

    @classmethod
    def lenient(cls, text: str) -> "Duration":
        """Parse ``text``; return an invalid Duration instead of raising."""
        try:
            return parse_duration(text)
        except DurationError as exc:
            return cls(text=text, error=exc.reason)

    def __post_init__(self) -> None:
        # Computed once: validation compares the same durations many times.
        if self.error is not None:
            nominal = None
        elif self.is_working_days:
            nominal = timedelta(days=self.working_days)
        else:
            nominal = self.months * _AVERAGE_MONTH + timedelta(days=self.days) + self.exact
        object.__setattr__(self, "_nominal", nominal)

    @property
    def is_valid(self) -> bool:
        """Return whether the duration parsed and is positive."""
        return self.error is None

    @property
    def nominal(self) -> timedelta:
        """Return the length used to compare durations; raise ValueError if invalid."""
        if self.error is not None:
            self._check()
        return self._nominal

    def add_to(self, start: datetime, calendar: CalendarLike = None, tz: ZoneInfo | str | None = None) -> datetime:
        """Return the aware UTC moment this long after ``start``; raise ValueError if invalid."""
        return self._shift(start, calendar, tz, 1)

    def subtract_from(self, end: datetime, calendar: CalendarLike = None, tz: ZoneInfo | str | None = None) -> datetime:
        """Return the aware UTC moment this long before ``end``; raise ValueError if invalid."""
        return self._shift(end, calendar, tz, -1)

    def _shift(self, moment: datetime, calendar: CalendarLike, tz: ZoneInfo | str | None, sign: int) -> datetime:
        self._check()
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError("the start of a duration must be an aware datetime")
        zone = _zone(tz)
        if self.is_working_days:
            local = moment.astimezone(zone)
            day = shift_working_days(local.date(), sign * self.working_days, calendar)
            return datetime.combine(day, local.timetz()).astimezone(UTC)
        if sign < 0:
            moment = moment.astimezone(UTC) - self.exact
        local = moment.astimezone(zone)
        if self.months:
            local = _add_months(local, sign * self.months)
        # Aware arithmetic within one tzinfo is wall-clock arithmetic: days stay calendar days.
        local = local + timedelta(days=sign * self.days)
        result = local.astimezone(UTC)
        if sign > 0:
            result = result + self.exact
        return result

    def _check(self) -> None:
        if self.error is not None:
            raise ValueError(f"{self.text!r} is not a valid duration")

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class DurationSpec:
    """A deadline: one duration for every risk level, or one per level."""

    single: Duration | None = None
    high: Duration | None = None
    medium: Duration | None = None
    low: Duration | None = None

    @classmethod
    def of(cls, value: "str | Duration | Mapping[str, str | Duration]") -> "DurationSpec":
        """Build a spec from a text, a Duration or a level map; raise ValueError on a bad level."""
        if isinstance(value, str | Duration):
            return cls(single=_as_duration(value))
        unknown = set(value) - set(RISK_LEVELS)
        if unknown:
            raise ValueError(f"unknown risk levels: {', '.join(sorted(map(str, unknown)))}")
        if not value:
            raise ValueError("a duration map must name at least one risk level")
        return cls(**{level: _as_duration(text) for level, text in value.items()})

    @property
    def is_uniform(self) -> bool:
        """Return whether one duration applies to every risk level."""
        return self.single is not None

    def items(self) -> Iterator[tuple[str | None, Duration]]:
        """Yield (level, duration) pairs as written; the level is None for a single duration."""
        if self.single is not None:
            yield None, self.single
            return
        for level in RISK_LEVELS:
            duration = getattr(self, level)
            if duration is not None:
                yield level, duration

    @cached_property
    def shortest(self) -> Duration | None:
        """Return the shortest duration given (the first of equals), or None if any of them is invalid."""
        shortest = None
        for _, duration in self.items():
            if duration.error is not None:
                return None
            if shortest is None or duration.nominal < shortest.nominal:
                shortest = duration
        return shortest

    def for_risk(self, level: str) -> Duration:
        """Return the duration for a risk level; a missing level falls back to the longest given."""
        if level not in RISK_LEVELS:
            raise ValueError(f"unknown risk level {level!r}; use high, medium or low")
        if self.single is not None:
            return self.single
        duration = getattr(self, level)
        if duration is not None:
            return duration
        given = [duration for _, duration in self.items() if duration.is_valid]
        if not given:
            raise ValueError("the duration map holds no valid duration")
        # max() keeps the first of equals, so ties go to the most urgent level written.
        return max(given, key=lambda duration: duration.nominal)

    def to_document(self) -> str | dict[str, str]:
        """Return the spec as written in a definition document."""
        if self.single is not None:
            return self.single.text
        return {level: duration.text for level, duration in self.items() if level is not None}


def parse_duration(text: str) -> Duration:
    """Parse ISO 8601 (``PT24H``, ``P3D``, ``P1DT12H``, ``P2W``) or ``N working days``; raise ValueError."""
    if not isinstance(text, str):
        raise DurationError(f"a duration must be text, not {type(text).__name__}", "syntax")
    return _parse(text)


# Durations are immutable and definitions repeat the same few texts many times.
@lru_cache(maxsize=4096)
def _parse(text: str) -> Duration:
    cleaned = text.strip()
    working = _WORKING_DAYS.fullmatch(cleaned)
    if working:
        count = int(working["count"])
        if count <= 0:
            raise DurationError(f"{text!r} is not positive", "not_positive")
        if count > _MAX_DAYS:
            raise DurationError(f"{text!r} is too long", "syntax")
        return Duration(text=text, working_days=count, is_working_days=True)
    iso = _ISO.fullmatch(cleaned.upper())
    if not iso:
        raise DurationError(
            f"{text!r} is not a duration: write ISO 8601 such as PT24H, P3D or P1DT12H, or 'N working days'",
            "syntax",
        )
    parts = {name: float(value.replace(",", ".")) if value else 0 for name, value in iso.groupdict().items()}
    months = int(parts["years"]) * 12 + int(parts["months"])
    days = int(parts["weeks"]) * 7 + int(parts["days"])
    if months > 12 * 100 or days > _MAX_DAYS or parts["hours"] > 24 * _MAX_DAYS:
        raise DurationError(f"{text!r} is too long", "syntax")
    exact = timedelta(hours=parts["hours"], minutes=parts["minutes"], seconds=parts["seconds"])
    if months == 0 and days == 0 and exact <= timedelta(0):
        raise DurationError(f"{text!r} is not positive", "not_positive")
    return Duration(text=text, months=months, days=days, exact=exact)


def is_working_day(day: date, calendar: CalendarLike = None) -> bool:
    """Return whether ``day`` is a working day in the calendar country; raise ValueError for an unknown one."""
    if isinstance(calendar, WorkingCalendar):
        return calendar.is_working_day(day)
    if calendar is None:
        return day.weekday() < 5
    holiday_dates, workdays, weekend = _calendar_year(calendar, day.year)
    if day.weekday() in weekend:
        return day in workdays
    return day not in holiday_dates


def shift_working_days(day: date, count: int, calendar: CalendarLike = None) -> date:
    """Return the ``count``-th working day after ``day`` (before it if negative); ``day`` itself never counts."""
    step = timedelta(days=1 if count > 0 else -1)
    remaining = abs(count)
    while remaining:
        day = day + step
        if is_working_day(day, calendar):
            remaining -= 1
    return day


def package_days(code: str, year: int, language: str | None = None) -> list[tuple[date, str, str]]:
    """Return the package's public holidays and moved working days of a country's year, by date.

    Each is ``(date, kind, name)``: ``day_off`` for a public holiday, ``working_day`` for a weekend day
    moved to work. Names are in ``language`` where the package has it, else in English. Raise ValueError
    for an unknown country.
    """
    if not is_known_calendar(code):
        raise ValueError(f"unknown calendar country {code!r}")
    kind = holidays.country_holidays(code, years=year)
    languages = package_languages(code)
    chosen = language if language in languages else ("en_US" if "en_US" in languages else None)
    country = holidays.country_holidays(code, years=year, language=chosen) if chosen else kind
    found = [(day, "day_off", name) for day, name in country.items() if day.year == year]
    found += [(day, "working_day", "") for day in country.weekend_workdays if day.year == year]
    return sorted(found)


def package_languages(code: str) -> tuple[str, ...]:
    """Return the languages the package names a country's holidays in (``("en_US", "kk", "uk")`` for KZ)."""
    if not is_known_calendar(code):
        return ()
    return tuple(getattr(holidays.country_holidays(code), "supported_languages", ()))


def package_version() -> str:
    """Return the version of the ``holidays`` package that supplies the public holidays."""
    return holidays.__version__


def is_known_calendar(code: Any) -> bool:
    """Return whether ``code`` names a country whose public holidays are known."""
    return isinstance(code, str) and code in _supported_countries()


# The package's registry of codes, not list_supported_countries(): that one imports the module of every one of
# its 250 countries to list their subdivisions, 14 MB a web worker kept from its first request on.
@lru_cache(maxsize=1)
def _supported_countries() -> frozenset[str]:
    return frozenset(EntityLoader.get_country_codes())


# Frozen sets per country and year: cheap lookups, and nothing shared is mutated
# afterwards (a holidays object fills itself in lazily, which is not thread-safe).
@lru_cache(maxsize=512)
def _calendar_year(code: str, year: int) -> tuple[frozenset[date], frozenset[date], frozenset[int]]:
    if not is_known_calendar(code):
        raise ValueError(f"unknown calendar country {code!r}")
    country = holidays.country_holidays(code, years=year)
    return frozenset(country), frozenset(country.weekend_workdays), frozenset(country.weekend)


def _add_months(moment: datetime, months: int) -> datetime:
    index = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(index, 12)
    day = min(moment.day, _calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def _zone(tz: ZoneInfo | str | None) -> ZoneInfo:
    if tz is None:
        return ZoneInfo(DEFAULT_TIMEZONE)
    if isinstance(tz, str):
        return ZoneInfo(tz)
    return tz


def _as_duration(value: "str | Duration") -> Duration:
    return value if isinstance(value, Duration) else parse_duration(value)
