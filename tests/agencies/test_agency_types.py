import subprocess
import sys

from agencies import AgencyType


def test_the_five_agency_types():
    assert [each.value for each in AgencyType] == [
        "justice",
        "health",
        "education",
        "social",
        "civil_society",
    ]
    assert AgencyType("civil_society") is AgencyType.civil_society
    assert AgencyType.health == "health"
    assert f"{AgencyType.social}" == "social"


def test_every_type_has_a_label():
    labels = [each.label for each in AgencyType]
    assert all(labels)
    assert len(set(labels)) == len(labels)
    assert AgencyType.social.label == "Social protection"


def test_imports_neither_the_web_nor_the_database_nor_workflows():
    code = (
        "import sys, agencies\n"
        "bad = {'flask', 'flask_babel', 'sqlalchemy', 'referral', 'workflows'} & set(sys.modules)\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
