"""Who may act and see: agency types, regions, roles, need-to-know, the directory format.

Pure Python: no Flask, no database, no imports from ``workflows``.
"""

from .agency_types import AgencyType
from .directory import (
    AGENCY_CODE_MAX_LENGTH,
    DIRECTORY_FORMAT,
    DIRECTORY_VERSION,
    AgencyRecord,
    Contact,
    ContactSchema,
    DirectoryProblem,
    DirectorySchema,
    LocationSchema,
    OrganizationSchema,
    PhoneSchema,
    Service,
    ServiceSchema,
    dump_directory,
    is_agency_code,
    load_directory,
    parse_directory_text,
)
from .i18n import N_
from .regions import REGIONS, Region, is_region_code, region
from .roles import ROLE_PERMISSIONS, Permission, Role, has_permission
from .visibility import (
    ASKED_STATUSES,
    HOLDING_STATUSES,
    CaseFacts,
    Viewer,
    Visibility,
    case_facts,
    case_visibility,
    may_see_referral,
)

__all__ = [
    "AGENCY_CODE_MAX_LENGTH",
    "ASKED_STATUSES",
    "DIRECTORY_FORMAT",
    "DIRECTORY_VERSION",
    "HOLDING_STATUSES",
    "N_",
    "REGIONS",
    "ROLE_PERMISSIONS",
    "AgencyRecord",
    "AgencyType",
    "CaseFacts",
    "Contact",
    "ContactSchema",
    "DirectoryProblem",
    "DirectorySchema",
    "LocationSchema",
    "OrganizationSchema",
    "Permission",
    "PhoneSchema",
    "Region",
    "Role",
    "Service",
    "ServiceSchema",
    "Viewer",
    "Visibility",
    "case_facts",
    "case_visibility",
    "dump_directory",
    "has_permission",
    "is_agency_code",
    "is_region_code",
    "load_directory",
    "may_see_referral",
    "parse_directory_text",
    "region",
]
