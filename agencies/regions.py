"""The regions of Kazakhstan, identified by their ISO 3166-2:KZ codes.

Seventeen regions (oblys / область) and three cities of republican
significance, with the two-digit codes ISO adopted in 2022 when Abai, Jetisu
and Ulytau were formed. Russian names follow the decrees: the three new
regions are officially "область Абай", "область Жетісу", "область Ұлытау".
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Region:
    """A region or city of republican significance, named in three languages."""

    code: str
    name_en: str
    name_ru: str
    name_kk: str
    #: A city of republican significance (Astana, Almaty, Shymkent), not a region.
    is_city: bool = False

    def name(self, locale: str | None = None) -> str:
        """Return the name in a locale such as ``kk``, ``ru_KZ`` or ``en``; English otherwise."""
        language = (locale or "en").replace("-", "_").split("_", 1)[0].lower()
        if language == "kk":
            return self.name_kk
        if language == "ru":
            return self.name_ru
        return self.name_en


REGIONS: tuple[Region, ...] = (
    Region("KZ-10", "Abai Region", "область Абай", "Абай облысы"),
    Region("KZ-11", "Akmola Region", "Акмолинская область", "Ақмола облысы"),
    Region("KZ-15", "Aktobe Region", "Актюбинская область", "Ақтөбе облысы"),
    Region("KZ-19", "Almaty Region", "Алматинская область", "Алматы облысы"),
    Region("KZ-23", "Atyrau Region", "Атырауская область", "Атырау облысы"),
    Region(
        "KZ-27",
        "West Kazakhstan Region",
        "Западно-Казахстанская область",
        "Батыс Қазақстан облысы",
    ),
    Region("KZ-31", "Jambyl Region", "Жамбылская область", "Жамбыл облысы"),
    Region("KZ-33", "Jetisu Region", "область Жетісу", "Жетісу облысы"),
    Region("KZ-35", "Karaganda Region", "Карагандинская область", "Қарағанды облысы"),
    Region("KZ-39", "Kostanay Region", "Костанайская область", "Қостанай облысы"),
    Region("KZ-43", "Kyzylorda Region", "Кызылординская область", "Қызылорда облысы"),
    Region("KZ-47", "Mangystau Region", "Мангистауская область", "Маңғыстау облысы"),
    Region("KZ-55", "Pavlodar Region", "Павлодарская область", "Павлодар облысы"),
    Region(
        "KZ-59",
        "North Kazakhstan Region",
        "Северо-Казахстанская область",
        "Солтүстік Қазақстан облысы",
    ),
    Region("KZ-61", "Turkistan Region", "Туркестанская область", "Түркістан облысы"),
    Region("KZ-62", "Ulytau Region", "область Ұлытау", "Ұлытау облысы"),
    Region(
        "KZ-63",
        "East Kazakhstan Region",
        "Восточно-Казахстанская область",
        "Шығыс Қазақстан облысы",
    ),
    Region("KZ-71", "Astana", "город Астана", "Астана қаласы", is_city=True),
    Region("KZ-75", "Almaty", "город Алматы", "Алматы қаласы", is_city=True),
    Region("KZ-79", "Shymkent", "город Шымкент", "Шымкент қаласы", is_city=True),
)

_BY_CODE = {each.code: each for each in REGIONS}


def region(code: str) -> Region:
    """Return the region with an ISO 3166-2:KZ code; raise KeyError for any other value."""
    try:
        return _BY_CODE[code]
    except (KeyError, TypeError):
        # An unhashable value is just another unknown code to the caller.
        raise KeyError(code) from None


def is_region_code(code: object) -> bool:
    """Return whether a value is the ISO 3166-2:KZ code of a region or city."""
    return isinstance(code, str) and code in _BY_CODE
