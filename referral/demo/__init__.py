"""Demo data: fictional agencies and users, loaded idempotently by ``referral demo``."""

import sqlalchemy as sa

from ..actors import Actor
from ..auth import service as accounts
from ..auth.models import User
from ..designer.service import ensure_default_workflow
from ..directory.models import Agency
from ..directory.service import assign_values, create_agency
from ..extensions import db
from .cases import load_demo_cases

#: Shared by every demo login; the demo is never a production system.
DEMO_PASSWORD = "demo-password-2026"

# Every name below is invented; none is a real person or a real institution.
AGENCIES = [
    # code, type, region, district, English name, Russian name, services
    ("astana-family-support", "social", "KZ-71", "Esil", "Astana Family Support Centre (demo)",
     "Центр поддержки семьи Астаны (демо)", ["Case management", "Guardian identification"]),
    ("astana-childrens-clinic", "health", "KZ-71", "Almaty district", "Astana Children's Clinic No. 7 (demo)",
     "Детская поликлиника № 7 Астаны (демо)", ["Health screening", "Vaccination catch-up"]),
    ("astana-juvenile-prosecutor", "justice", "KZ-71", None, "Astana Juvenile Justice Office (demo)",
     "Ювенальная прокуратура Астаны (демо)", ["Legal status review"]),
    ("astana-school-54", "education", "KZ-71", "Saryarka", "Astana School No. 54 (demo)",
     "Школа № 54 Астаны (демо)", ["School enrolment", "Catch-up classes"]),
    ("almaty-rehab-centre", "social", "KZ-75", "Medeu", "Almaty Rehabilitation and Adaptation Centre (demo)",
     "Алматинский центр реабилитации и адаптации (демо)", ["Residential adaptation", "Individual rehabilitation plan"]),
    ("almaty-city-hospital", "health", "KZ-75", "Bostandyk", "Almaty City Children's Hospital (demo)",
     "Городская детская больница Алматы (демо)", ["Health screening", "Psychiatric assessment"]),
    ("almaty-hope-ngo", "civil_society", "KZ-75", None, "Hope Bridge Public Foundation (demo)",
     "Общественный фонд «Мост надежды» (демо)", ["Psychosocial support", "Family mediation"]),
    ("shymkent-social-services", "social", "KZ-79", "Abay", "Shymkent Social Services Department (demo)",
     "Управление социальных услуг Шымкента (демо)", ["Documents and guardianship", "Case management"]),
    ("shymkent-school-12", "education", "KZ-79", "Al-Farabi", "Shymkent Gymnasium No. 12 (demo)",
     "Гимназия № 12 Шымкента (демо)", ["School enrolment"]),
    ("shymkent-court", "justice", "KZ-79", None, "Shymkent Specialised Juvenile Court (demo)",
     "Специализированный суд по делам несовершеннолетних Шымкента (демо)", ["Legal status review"]),
    ("mangystau-clinic", "health", "KZ-47", "Aktau", "Aktau Regional Clinic (demo)",
     "Областная поликлиника Актау (демо)", ["Health screening"]),
    ("mangystau-guardianship", "social", "KZ-47", "Aktau", "Mangystau Guardianship Authority (demo)",
     "Орган опеки Мангистауской области (демо)", ["Documents and guardianship"]),
    ("turkistan-steppe-ngo", "civil_society", "KZ-61", "Kentau", "Steppe Light Youth Association (demo)",
     "Молодёжная ассоциация «Свет степи» (демо)", ["Psychosocial support", "Mentoring"]),
    ("karaganda-school-3", "education", "KZ-35", "Temirtau", "Temirtau School No. 3 (demo)",
     "Школа № 3 Темиртау (демо)", ["School enrolment", "Inclusive education"]),
    ("pavlodar-social-centre", "social", "KZ-55", "Ekibastuz", "Ekibastuz Social Centre (demo)",
     "Социальный центр Экибастуза (демо)", ["Case management"]),
    ("aktobe-health-centre", "health", "KZ-15", None, "Aktobe Youth Health Centre (demo)",
     "Молодёжный центр здоровья Актобе (демо)", ["Health screening", "Counselling"]),
    ("jambyl-legal-aid", "civil_society", "KZ-31", "Taraz", "Taraz Children's Legal Aid Clinic (demo)",
     "Юридическая клиника для детей Тараза (демо)", ["Legal aid"]),
    ("kostanay-prosecutor", "justice", "KZ-39", None, "Kostanay Juvenile Affairs Office (demo)",
     "Отдел по делам несовершеннолетних Костаная (демо)", ["Legal status review"]),
]

#: The agencies' names in Kazakh, by code.
KAZAKH_NAMES = {
    "astana-family-support": "Астана отбасын қолдау орталығы (демо)",
    "astana-childrens-clinic": "Астана қаласының № 7 балалар емханасы (демо)",
    "astana-juvenile-prosecutor": "Астана қаласының ювеналдық прокуратурасы (демо)",
    "astana-school-54": "Астана қаласының № 54 мектебі (демо)",
    "almaty-rehab-centre": "Алматы оңалту және бейімдеу орталығы (демо)",
    "almaty-city-hospital": "Алматы қалалық балалар ауруханасы (демо)",
    "almaty-hope-ngo": "«Үміт көпірі» қоғамдық қоры (демо)",
    "shymkent-social-services": "Шымкент қаласының әлеуметтік қызметтер басқармасы (демо)",
    "shymkent-school-12": "Шымкент қаласының № 12 гимназиясы (демо)",
    "shymkent-court": "Шымкент қаласының кәмелетке толмағандар істері жөніндегі мамандандырылған соты (демо)",
    "mangystau-clinic": "Ақтау облыстық емханасы (демо)",
    "mangystau-guardianship": "Маңғыстау облысының қорғаншылық органы (демо)",
    "turkistan-steppe-ngo": "«Дала нұры» жастар қауымдастығы (демо)",
    "karaganda-school-3": "Теміртау қаласының № 3 мектебі (демо)",
    "pavlodar-social-centre": "Екібастұз әлеуметтік орталығы (демо)",
    "aktobe-health-centre": "Ақтөбе жастар денсаулығы орталығы (демо)",
    "jambyl-legal-aid": "Тараз қаласының балаларға арналған заң клиникасы (демо)",
    "kostanay-prosecutor": "Қостанай қаласының кәмелетке толмағандар істері жөніндегі бөлімі (демо)",
}

USERS = [
    # e-mail, name, agency code, role
    ("admin@demo.kz", "Demo Administrator", "astana-family-support", "admin"),
    ("coordinator@demo.kz", "Aru Coordinator (demo)", "astana-family-support", "coordinator"),
    ("coordinator.almaty@demo.kz", "Dana Coordinator (demo)", "almaty-rehab-centre", "coordinator"),
    ("social@demo.kz", "Timur Social-Worker (demo)", "astana-family-support", "staff"),
    ("supervisor@demo.kz", "Saule Supervisor (demo)", "astana-family-support", "supervisor"),
    ("health@demo.kz", "Nurse Demo-Health", "astana-childrens-clinic", "staff"),
    ("health.supervisor@demo.kz", "Doctor Demo-Supervisor", "astana-childrens-clinic", "supervisor"),
    ("justice@demo.kz", "Officer Demo-Justice", "astana-juvenile-prosecutor", "staff"),
    ("school@demo.kz", "Teacher Demo-School", "astana-school-54", "staff"),
    ("rehab@demo.kz", "Worker Demo-Rehab", "almaty-rehab-centre", "staff"),
    ("ngo@demo.kz", "Volunteer Demo-NGO", "almaty-hope-ngo", "staff"),
    ("shymkent@demo.kz", "Worker Demo-Shymkent", "shymkent-social-services", "staff"),
]


def load_demo_data() -> str:
    """Create what is missing of the demo agencies and users; return how to sign in."""
    actor = Actor.system_actor("demo")
    for code, type_, region, district, name, name_ru, services in AGENCIES:
        values = {"code": code, "name": name, "name_ru": name_ru, "name_kk": KAZAKH_NAMES[code], "type": type_,
                  "region": region, "district": district, "services": [{"name": s} for s in services],
                  "email": f"{code}@demo.kz", "is_active": True}
        agency = db.session.scalar(sa.select(Agency).where(Agency.code == code))
        if agency is None:
            create_agency(values, actor)
        else:
            assign_values(agency, values)
    for email, name, agency_code, role in USERS:
        if db.session.scalar(sa.select(User.id).where(User.email == email)) is None:
            accounts.create_user(accounts.UserData(email=email, name=name, agency_code=agency_code, role=role,
                                                   password=DEMO_PASSWORD), actor)
    db.session.flush()
    ensure_default_workflow(actor)
    load_demo_cases()
    lines = [f"Demo logins (password for all: {DEMO_PASSWORD}):"]
    lines += [f"  {role:<12} {email:<28} {agency_code}" for email, _, agency_code, role in USERS]
    return "\n".join(lines)
