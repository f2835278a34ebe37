"""Possible-duplicate checks on a big database: 100,000 children with the names of a real population.

Run with ``python bench/matches.py [--database postgresql|sqlite|both] [--cases N] [--samples N]``.
It builds a fresh database (the PostgreSQL database ``referral_bench_matches`` on 127.0.0.1, dropped and
created, or a SQLite file under /tmp), loads the demo agencies, users and the returned-child workflow, and
bulk-inserts cases whose children have common Kazakh and Russian given and family names (so that popular
names give many candidates, as they would), birth dates or estimated ages, and a registration date in the
last three years. Then it asks ``POST /api/v1/cases/matches`` (through the app, audit and commit included)
for children taken from the cases — written in Latin letters, some with a typo, some with an age instead
of the birth date — and for children nobody knows, and prints:

* p50/p95 of the whole matches call;
* the floor beside it: p50/p95 of the bare SQL candidate query of the same children (executed and fetched);
* how many candidates SQL left for Python to compare, and how many matches were found.

Target on this machine with PostgreSQL: the matches call p95 under 50 ms.
"""

import argparse
import os
import random
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402
from anyascii import anyascii  # noqa: E402
from flask_migrate import upgrade  # noqa: E402

from bench.common import fresh_database, percentile  # noqa: E402
from referral import create_app  # noqa: E402
from referral.actors import Actor  # noqa: E402
from referral.auth import service as accounts  # noqa: E402
from referral.auth.models import User  # noqa: E402
from referral.cases import duplicates  # noqa: E402
from referral.cases.models import Case  # noqa: E402
from referral.cases.names import birth_year, fold, name_key, search_key  # noqa: E402
from referral.cases.service import ChildData  # noqa: E402
from referral.demo import load_demo_data  # noqa: E402
from referral.designer import service as designer  # noqa: E402
from referral.directory.models import Agency  # noqa: E402
from referral.extensions import db  # noqa: E402
from referral.schema_migrations import init_migrations  # noqa: E402

DATABASE = "referral_bench_matches"
CHUNK = 5_000


def _words(text: str) -> list[str]:
    return text.split()



GIRLS = _words("Айгерім Аружан Әсел Айзере Ақбота Інжу Томирис Дана Жансая Мадина Амина Аяжан Балжан Гүлназ Жанель "
         "Зарина Іңкәр Камила Ләйлә Мөлдір Нұрай Салтанат Сабина Ұлжан Фатима Хадиша Айлин Алина Анастасия "
         "Анна Мария Дарья София Виктория Екатерина Полина Юлия Ксения Арина Меруерт Гүлнұр Жұлдыз Назерке")
BOYS = _words("Нұрсұлтан Әлихан Айсұлтан Ерасыл Мұхаммед Алихан Ернұр Бекзат Данияр Ислам Қайрат Ғалым Серік Тимур "
        "Арман Асылбек Бауыржан Дәурен Ерлан Жандос Марат Нұрлан Рустам Санжар Талғат Үміт Іляс Абылай Ахмед "
        "Александр Максим Артём Михаил Иван Даниил Кирилл Матвей Егор Дмитрий Руслан Омар Юсуф Әділ")
FAMILIES = _words("Нұрлан Серік Қасым Жұмабай Әбдірахман Омар Сейіт Ахмет Төлеген Бекмұхамбет Тұрсын Мұқан Ерғали "
            "Исмаил Қалиев Сәрсен Байжан Есенов Жақсылық Оспан Тоқтар Әлімжан Қуаныш Дүйсен Смағұл Құрманғали "
            "Иванов Петров Смирнов Кузнецов Попов Васильев Соколов Михайлов Новиков Фёдоров Морозов Волков "
            "Алексеев Лебедев Семёнов Егоров Павлов Козлов Степанов Николаев Орлов Андреев Макаров Захаров "
            "Ким Пак Тен Цой Ли Шин Хан Югай")


def _family(stem: str, sex: str) -> str:
    if stem in ("Ким", "Пак", "Тен", "Цой", "Ли", "Шин", "Хан", "Югай"):
        return stem
    if stem.endswith(("ов", "ев", "ин")):
        return stem + "а" if sex == "female" else stem
    return stem + ("ова" if sex == "female" else "ов")


def _child(rng: random.Random) -> dict:
    sex = rng.choice(["female", "male"])
    given = rng.choice(GIRLS if sex == "female" else BOYS)
    family = _family(rng.choice(FAMILIES), sex)
    father = rng.choice(BOYS)
    patronymic = rng.choice([None, None, f"{father}ұлы" if sex == "male" else f"{father}қызы"])
    return {"given_name": given, "family_name": family, "patronymic": patronymic, "sex": sex}


def seed(case_count: int, rng: random.Random) -> None:
    """Bulk-insert cases with common names, each registered by a demo social agency."""
    load_demo_data()
    db.session.commit()
    version = designer.latest_version("returned-child")
    social = list(db.session.scalars(sa.select(Agency.id).where(Agency.type == "social")))
    now = datetime.now(UTC)
    today = date.today()
    offset = db.session.scalar(sa.select(sa.func.coalesce(sa.func.max(Case.id), 0)))
    for first in range(0, case_count, CHUNK):
        rows = []
        for index in range(first, min(case_count, first + CHUNK)):
            child = _child(rng)
            created = now - timedelta(minutes=rng.randint(0, 60 * 24 * 365 * 3))
            born = today - timedelta(days=rng.randint(365, 365 * 18))
            dated = rng.random() < 0.7
            status = rng.choice(["open"] * 4 + ["closed"])
            estimated_age = None if dated else max(0, min(24, (created.date() - born).days // 365))
            rows.append({
                "id": offset + index + 1, "number": f"KZ-2025-{index + 1:06d}", "workflow_version_id": version.id,
                **child, "search_key": search_key(child["given_name"], child["family_name"], child["patronymic"]),
                "given_key": name_key(child["given_name"]), "family_key": name_key(child["family_name"]),
                "birth_date": born if dated else None,
                "estimated_age": estimated_age,
                "born_about": birth_year(born if dated else None, estimated_age, created),
                "region": rng.choice(["KZ-71", "KZ-75", "KZ-79", "KZ-47", "KZ-61"]), "languages": ["kk"],
                "risk_level": rng.choice(["high", "medium", "low"]), "status": status,
                "closed_at": created + timedelta(days=30) if status == "closed" else None,
                "registered_by_agency_id": rng.choice(social), "created_at": created, "updated_at": created,
                "guardians": [], "version": 1})
        db.session.execute(sa.insert(Case.__table__), rows)
        db.session.commit()
    db.session.execute(sa.text("ANALYZE"))
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(sa.text("SELECT setval('cases_id_seq', (SELECT max(id) FROM cases))"))
    db.session.commit()


def _typo(name: str, rng: random.Random) -> str:
    if len(name) < 3:
        return name + rng.choice("aeiou")
    where = rng.randrange(1, len(name) - 1)
    kind = rng.choice(["insert", "delete", "substitute", "swap"])
    if kind == "insert":
        return name[:where] + rng.choice("aeiouklmnrst") + name[where:]
    if kind == "delete":
        return name[:where] + name[where + 1:]
    if kind == "substitute":
        return name[:where] + rng.choice("aeiouklmnrst") + name[where + 1:]
    return name[:where] + name[where + 1] + name[where] + name[where + 2:]


def queries(count: int, rng: random.Random) -> list[dict]:
    """Return children to check: half of them known (written in Latin, some with a typo or an age), half not."""
    rows = db.session.execute(sa.select(Case.given_name, Case.family_name, Case.patronymic, Case.sex, Case.birth_date,
                                        Case.estimated_age).order_by(sa.func.random()).limit(count // 2)).all()
    found = []
    for row in rows:
        given, family = anyascii(row.given_name), anyascii(row.family_name)
        if rng.random() < 0.5:
            family = _typo(family, rng)
        child = {"given_name": given, "family_name": family, "sex": row.sex.value, "region": "KZ-71"}
        if row.birth_date is not None and rng.random() < 0.8:
            child["birth_date"] = row.birth_date.isoformat()
        else:
            child["estimated_age"] = row.estimated_age if row.estimated_age is not None else \
                (date.today() - row.birth_date).days // 365
        found.append(child)
    while len(found) < count:
        child = _child(rng)
        child.pop("patronymic")
        found.append({**child, "family_name": _typo(child["family_name"], rng), "region": "KZ-71",
                      "estimated_age": rng.randint(1, 17)})
    rng.shuffle(found)
    return found


def _child_data(child: dict) -> ChildData:
    born = child.get("birth_date")
    return ChildData(given_name=child["given_name"], family_name=child["family_name"], sex=child["sex"],
                     region=child["region"], birth_date=date.fromisoformat(born) if born else None,
                     estimated_age=child.get("estimated_age"))


def measure_floor(children: list[dict]) -> tuple[list[float], list[int]]:
    """Time the bare candidate query of each child: the SQL the check cannot do without."""
    timings, counts = [], []
    today = date.today()
    for child in children:
        data = _child_data(child)
        names = sorted({name for name in (fold(data.given_name), fold(data.family_name)) if name})
        age = duplicates.age_now(data.birth_date, data.estimated_age, today, today)
        statement = duplicates._candidates(data, names, age, today)
        started = time.perf_counter()
        rows = db.session.execute(statement).all()
        timings.append(time.perf_counter() - started)
        counts.append(len(rows))
    db.session.rollback()
    return timings, counts


def measure_matches(app, children: list[dict]) -> tuple[list[float], list[int]]:
    user = db.session.scalar(sa.select(User).where(User.email == "social@demo.kz"))
    _, token = accounts.create_token(user, Actor.system_actor("bench"))
    db.session.commit()
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    timings, found = [], []
    for child in children:
        started = time.perf_counter()
        response = client.post("/api/v1/cases/matches", json={"child": child}, headers=headers)
        timings.append(time.perf_counter() - started)
        assert response.status_code == 200, response.get_data(as_text=True)
        found.append(len(response.json["matches"]))
    return timings, found


def _ms(values: list[float]) -> str:
    return f"p50 {statistics.median(values) * 1000:.1f} ms, p95 {percentile(values, 0.95) * 1000:.1f} ms"


def run(kind: str, case_count: int, samples: int) -> None:
    url = fresh_database(kind, DATABASE)
    app = init_migrations(create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "TESTING": False}))
    with app.app_context():
        upgrade()
        started = time.perf_counter()
        seed(case_count, random.Random(12))
        cases_n = db.session.scalar(sa.select(sa.func.count()).select_from(Case))
        print(f"[{kind}] seeded {cases_n:,} cases in {time.perf_counter() - started:.1f} s")
        children = queries(samples, random.Random(13))
        measure_floor(children[:20])  # warm the caches for both
        floor, candidates = measure_floor(children)
        calls, found = measure_matches(app, children)
        print(f"[{kind}] bare candidate query (floor): {_ms(floor)}; candidates per check: median "
              f"{statistics.median(candidates):.0f}, max {max(candidates)}")
        print(f"[{kind}] POST /cases/matches: {_ms(calls)} over {len(calls)} checks; "
              f"{sum(1 for count in found if count)} found a match, {sum(found)} matches in all")
        db.session.remove()
        db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="postgresql")
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=300)
    args = parser.parse_args()
    os.environ.setdefault("REFERRAL_INSTANCE_PATH", "/tmp/referral_bench_instance")
    kinds = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    for kind in kinds:
        run(kind, args.cases, args.samples)


if __name__ == "__main__":
    main()
