"""Precision and recall of the duplicate check on generated spelling variants (DESIGN.md §12).

A population of children with Kazakh and Russian names is registered; then each is looked for again as
another agency would write it — in Russian passport Latin (ICAO 9303), in the Kazakh Latin alphabet of
2021, in Russian letters instead of Kazakh ones, with one typo in one name, with an estimated age instead
of the birth date — and, as what must not match, with two typos, another birth year or the other sex, and
as children nobody registered. ``pytest -s`` prints the figures.
"""

import random
from dataclasses import replace
from datetime import date

import pytest
from rapidfuzz.distance import OSA

from referral.cases import duplicates
from referral.cases import service as cases
from referral.extensions import db
from tests.appfixtures import demo_actor

GIRLS = ["Айгерім", "Аружан", "Әсел", "Айзере", "Ақбота", "Інжу", "Томирис", "Жансая", "Мадина", "Аяжан", "Балжан",
         "Гүлназ", "Зарина", "Іңкәр", "Камила", "Мөлдір", "Нұрай", "Салтанат", "Ұлжан", "Фатима", "Хадиша", "Алина",
         "Анастасия", "Мария", "Дарья", "Юлия", "Ксения", "Меруерт", "Жұлдыз", "Назерке", "Шынар", "Әйгерім"]
BOYS = ["Нұрсұлтан", "Әлихан", "Айсұлтан", "Ерасыл", "Мұхаммед", "Ернұр", "Бекзат", "Данияр", "Қайрат", "Ғалым",
        "Серік", "Тимур", "Арман", "Бауыржан", "Дәурен", "Ерлан", "Жандос", "Марат", "Рустам", "Санжар", "Талғат",
        "Іляс", "Абылай", "Александр", "Максим", "Артём", "Михаил", "Дмитрий", "Руслан", "Юсуф", "Шыңғыс", "Әділ"]
STEMS = ["Нұрлан", "Серік", "Қасым", "Жұмабай", "Әбдірахман", "Сейіт", "Ахмет", "Төлеген", "Тұрсын", "Мұқан",
         "Ерғали", "Исмаил", "Сәрсен", "Байжан", "Есен", "Жақсылық", "Оспан", "Тоқтар", "Әлімжан", "Қуаныш", "Дүйсен",
         "Смағұл", "Құрманғали", "Иван", "Петр", "Смирн", "Кузнец", "Соколов", "Михайл", "Новик", "Морозов", "Волков",
         "Лебедев", "Семён", "Егор", "Павл", "Козл", "Степан", "Орлов", "Шәріп", "Жүсіп", "Үсен", "Хасен", "Шоқан"]

#: Russian passport Latin (ICAO 9303), with the Kazakh letters written as their Russian neighbours are.
ICAO = dict(zip("абвгдеёжзийклмнопрстуфхцчшщъыьэюяәғқңөұүһі",
                ["a", "b", "v", "g", "d", "e", "e", "zh", "z", "i", "i", "k", "l", "m", "n", "o", "p", "r", "s", "t",
                 "u", "f", "kh", "ts", "ch", "sh", "shch", "ie", "y", "", "e", "iu", "ia",
                 "a", "g", "k", "n", "o", "u", "u", "h", "i"], strict=True))
#: The Kazakh Latin alphabet of 2021 (with its letters for the Russian ones it has no letter of).
KAZAKH_LATIN = dict(zip("абвгдеёжзийклмнопрстуфхцчшщъыьэюяәғқңөұүһі",
                        ["a", "b", "v", "g", "d", "e", "io", "j", "z", "i", "i", "k", "l", "m", "n", "o", "p", "r",
                         "s", "t", "u", "f", "h", "ts", "ç", "ş", "şş", "", "y", "", "e", "iu", "ia",
                         "ä", "ğ", "q", "ñ", "ö", "ū", "ü", "h", "ı"], strict=True))
RUSSIAN_LETTERS = str.maketrans("әғқңөұүһіӘҒҚҢӨҰҮҺІ", "агкноуухиАГКНОУУХИ")
CYRILLIC = "абвгдежзийклмнопрстуфхцчшыэюяәғқңөұүі"
LATIN = "abcdefghijklmnoprstuvyz"


def written_in(table: dict, name: str) -> str:
    text = "".join(table.get(letter, letter) for letter in name.lower())
    return text[:1].upper() + text[1:]


def typo(name: str, rng: random.Random) -> str:
    """Return the name with one edit: a letter put in, left out, changed, or swapped with the next."""
    letters = LATIN if name[:1].isascii() else CYRILLIC
    where = rng.randrange(1, len(name))
    kind = rng.choice(["insert", "delete", "substitute", "swap"] if len(name) > 2 else ["insert", "substitute"])
    if kind == "insert":
        return name[:where] + rng.choice(letters) + name[where:]
    if kind == "delete":
        return name[:where] + name[where + 1:]
    if kind == "substitute":
        return name[:where] + rng.choice(letters.replace(name[where].lower(), "")) + name[where + 1:]
    where = min(where, len(name) - 2)
    return name[:where] + name[where + 1] + name[where] + name[where + 2:]


def family_name(stem: str, sex: str) -> str:
    if stem.endswith(("ов", "ев")):
        return stem + "а" if sex == "female" else stem
    return stem + ("ова" if sex == "female" else "ов")


def population(rng: random.Random, count: int) -> list[cases.ChildData]:
    """Return children whose given and family names differ pairwise, some with a birth date, some an estimate."""
    children, seen = [], set()
    while len(children) < count:
        sex = rng.choice(["female", "male"])
        given, stem = rng.choice(GIRLS if sex == "female" else BOYS), rng.choice(STEMS)
        if (given, stem) in seen:
            continue
        seen.add((given, stem))
        born = date(rng.randint(2008, 2023), rng.randint(1, 12), rng.randint(1, 28))
        dated = rng.random() < 0.7
        children.append(cases.ChildData(
            given_name=given, family_name=family_name(stem, sex), sex=sex, region="KZ-71",
            birth_date=born if dated else None,
            estimated_age=None if dated else cases.years_between(born, date.today())))
    return children, seen


def spelled(child: cases.ChildData, rng: random.Random) -> cases.ChildData:
    """Return the child's names as another agency may write them: another script or alphabet."""
    way = rng.choice(["icao", "kazakh latin", "russian letters", "as written"])
    if way == "icao":
        write = lambda name: written_in(ICAO, name)  # noqa: E731 - one line each, read as a table
    elif way == "kazakh latin":
        write = lambda name: written_in(KAZAKH_LATIN, name)  # noqa: E731
    elif way == "russian letters":
        write = lambda name: name.translate(RUSSIAN_LETTERS)  # noqa: E731
    else:
        write = lambda name: name  # noqa: E731
    return replace(child, given_name=write(child.given_name), family_name=write(child.family_name))


def with_typos(child: cases.ChildData, rng: random.Random, count: int) -> cases.ChildData:
    """Return the child with ``count`` typos, in one name or spread over both, as far apart as they look.

    Two typos can undo each other (a swap and a swap back) or make one (a letter put in and taken out
    beside it): such a pair is drawn again, so that "two typos" are two edits in the script they were made in.
    """
    while True:
        names = {"given_name": child.given_name, "family_name": child.family_name}
        fields = [rng.choice(list(names))] * count if rng.random() < 0.5 else list(names)[:count]
        for field in fields:
            names[field] = typo(names[field], rng)
        made = sum(OSA.distance(names[field].lower(), getattr(child, field).lower()) for field in names)
        if made == count:
            return replace(child, **names)


def age_of(child: cases.ChildData) -> int:
    return cases.years_between(child.birth_date, date.today()) if child.birth_date else child.estimated_age


def aged(child: cases.ChildData, rng: random.Random, years: int) -> cases.ChildData:
    """Return the child with an estimated age ``years`` away from the known one, in place of the birth date."""
    return replace(child, birth_date=None, estimated_age=age_of(child) + rng.choice([-years, years]))


@pytest.fixture
def registered(demo):
    rng = random.Random(2026)
    children, used = population(rng, 150)
    social = demo_actor("social@demo.kz")
    ids = [cases.register_case("returned-child", "medium", child, social).id for child in children]
    db.session.commit()
    return list(zip(ids, children, strict=True)), used


def test_precision_and_recall_on_generated_spelling_variants(registered):
    known, used = registered
    rng = random.Random(12)
    asker = demo_actor("rehab@demo.kz")
    queries = []  # (kind, child, the case it should find or None)
    for case_id, child in known:
        queries.append(("another spelling", spelled(child, rng), case_id))
        queries.append(("another spelling, one typo", with_typos(spelled(child, rng), rng, 1), case_id))
        queries.append(("an age a year or less away", aged(spelled(child, rng), rng, rng.choice([0, 1])), case_id))
        queries.append(("two typos", with_typos(spelled(child, rng), rng, 2), None))
        queries.append(("an age two or more years away", aged(spelled(child, rng), rng, rng.choice([2, 3])), None))
        queries.append(("the other sex", replace(spelled(child, rng),
                                                 sex="male" if child.sex == "female" else "female"), None))
    stranger_rng = random.Random(99)
    strangers, _ = population(stranger_rng, 400)
    strangers = [child for child in strangers if (child.given_name, child.family_name[:-3]) not in used and
                 (child.given_name, child.family_name) not in {(c.given_name, c.family_name) for _, c in known}]
    queries += [("nobody registered", spelled(child, rng), None) for child in strangers[:150]]

    counts: dict[str, list[int]] = {}
    true_positives = false_positives = false_negatives = 0
    for kind, child, expected in queries:
        found = {match.case_id for match in duplicates.find_matches(child, asker)}
        hit = expected is not None and expected in found
        wrong = len(found - {expected})
        true_positives += hit
        false_negatives += expected is not None and not hit
        false_positives += wrong
        tally = counts.setdefault(kind, [0, 0, 0])
        tally[0] += 1
        tally[1] += hit if expected is not None else not found
        tally[2] += wrong
    db.session.rollback()
    precision = true_positives / (true_positives + false_positives)
    recall = true_positives / (true_positives + false_negatives)
    print(f"\nduplicate check on {len(known)} registered children, {len(queries)} generated queries:")
    for kind, (total, right, wrong) in counts.items():
        print(f"  {kind:<32} {right:>4}/{total:<4} as expected, {wrong} other cases matched")
    print(f"  precision {precision:.3f} (TP {true_positives}, FP {false_positives}), "
          f"recall {recall:.3f} (FN {false_negatives})")
    # Measured on 3 December 2026: precision 0.957, recall 0.989 (the ages, and so a few matches, move with the date).
    assert recall >= 0.97 and precision >= 0.93
    assert counts["the other sex"][1] == counts["the other sex"][0]
    assert counts["nobody registered"][1] == counts["nobody registered"][0]
