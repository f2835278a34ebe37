"""The five kinds of agency a workflow stage can be owned by."""

from enum import StrEnum

from .i18n import N_


class AgencyType(StrEnum):
    """The kind of agency; workflow stages name the type that owns them."""

    justice = "justice"
    health = "health"
    education = "education"
    social = "social"
    civil_society = "civil_society"

    @property
    def label(self) -> str:
        """Return the English label, marked for translation."""
        return _LABELS[self]


_LABELS = {
    AgencyType.justice: N_("Justice"),
    AgencyType.health: N_("Health"),
    AgencyType.education: N_("Education"),
    AgencyType.social: N_("Social protection"),
    AgencyType.civil_society: N_("Civil society"),
}
