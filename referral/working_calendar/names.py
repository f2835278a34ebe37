"""The package's holiday names in a language it lacks: Kazakhstan's holidays have no Russian in ``holidays``.

The package names them in English (``en_US``) then; the names and the few shapes it builds them in
("Victory Day (observed)", "Day off (substituted from 01/05/2025)") are translated here like any other text.
A name this table does not know stays as the package wrote it.
"""

import re
from datetime import datetime

from flask_babel import gettext

from workflows import N_

from ..i18n import show_date

#: The English names of the package's public holidays of Kazakhstan (holidays 0.109), to translate.
HOLIDAYS = (
    N_("New Year's Day"), N_("Orthodox Christmas"), N_("International Women's Day"), N_("Nowruz Holiday"),
    N_("Kazakhstan's People Solidarity Holiday"), N_("Defender of the Fatherland Day"), N_("Victory Day"),
    N_("Capital Day"), N_("Constitution Day"), N_("Republic Day"), N_("Independence Day"),
    N_("First President Day"), N_("Eid al-Adha"),
)
_KNOWN = frozenset(HOLIDAYS)
_SUFFIXES = {" (observed)": N_("%(name)s (observed)"), " (estimated)": N_("%(name)s (estimated)")}
_SUBSTITUTED = re.compile(r"Day off \(substituted from (\d\d/\d\d/\d{4})\)")


def _one(name: str) -> str:
    moved = _SUBSTITUTED.fullmatch(name)
    if moved:
        day = datetime.strptime(moved.group(1), "%m/%d/%Y").date()
        return gettext("Day off (moved from %(day)s)") % {"day": show_date(day)}
    for suffix, template in _SUFFIXES.items():
        if name.endswith(suffix) and name[:-len(suffix)] in _KNOWN:
            return gettext(template) % {"name": gettext(name[:-len(suffix)])}
    return gettext(name) if name in _KNOWN else name


def translated(name: str) -> str:
    """Return a package holiday name (English) in the language being written; unknown names as they are."""
    # The package joins two holidays of one date with "; ".
    return "; ".join(_one(part) for part in name.split("; ")) if name else name
