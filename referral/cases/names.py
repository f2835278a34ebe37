"""Children's names folded for search, so that one spelling finds the others (DESIGN.md §12).

A returned child's name is written in Kazakh, in Russian or in Latin letters by different agencies:
``Нұрланова``, ``Нурланова`` and ``Nurlanova`` must find each other. The Kazakh letters are folded to their
Russian neighbours as the design says (ә→а, ғ→г, қ→к, ң→н, ө→о, ұ→у, ү→у, һ→х, і→и), the maintained
``anyascii`` library writes the Cyrillic in Latin letters, and a few spellings that transliterations
disagree on are made one (y/i, kh/h, zh/j, q/k, doubled letters).
"""

import re

from anyascii import anyascii

_KAZAKH = str.maketrans({**dict(zip("әғқңөұүһіӘҒҚҢӨҰҮҺІ", "агкноуухиАГКНОУУХИ", strict=True)),
                         # The Kazakh Latin alphabet's ş and ç are the sh and ch of Russian passports.
                         "ş": "sh", "Ş": "Sh", "ç": "ch", "Ç": "Ch"})
# Spellings that differ between transliterations of one name, made one: longest first.
_SAME_SOUND = (("dzh", "j"), ("zh", "j"), ("kh", "h"), ("ch", "c"), ("ts", "c"), ("yu", "u"), ("iu", "u"),
               ("ya", "a"), ("ia", "a"), ("ye", "e"), ("y", "i"), ("q", "k"), ("w", "v"), ("x", "ks"))
_NOT_A_LETTER = re.compile(r"[^a-z]+")
_NOT_A_WORD_LETTER = re.compile(r"[\W\d_]+")
_DOUBLED = re.compile(r"(.)\1+")


def letters(name: str | None) -> str:
    """Return a name in its own script, lower case, letters only, Kazakh letters as their Russian neighbours."""
    return _NOT_A_WORD_LETTER.sub("", (name or "").translate(_KAZAKH).lower())


def transliterated(name: str | None) -> str:
    """Return a name in Latin letters (``anyascii``), lower case, letters only: the first step of ``fold``."""
    return _NOT_A_LETTER.sub("", anyascii((name or "").translate(_KAZAKH)).lower())


def _one_spelling(latin: str) -> str:
    text = _DOUBLED.sub(r"\1", latin)
    for written, same in _SAME_SOUND:
        text = text.replace(written, same)
    return _DOUBLED.sub(r"\1", text)


def fold(name: str | None) -> str:
    """Return a name as search compares it: Latin letters only, lower case, one spelling of each sound."""
    return _one_spelling(transliterated(name))


def spellings(name: str | None) -> tuple[str, str, str]:
    """Return a name at each step of folding: its letters, in Latin letters, folded.

    One typo is one edit in the script it was made in, yet folding can make it two (``Аяжан`` → ``ajan``,
    ``Аяан`` → ``an``): the duplicate check counts the edits at each step and takes the fewest.
    """
    latin = transliterated(name)
    return letters(name), latin, _one_spelling(latin)


def search_key(*names: str | None) -> str:
    """Return what a case's names are searched by: each name folded, separated by spaces."""
    return " ".join(folded for folded in (fold(name) for name in names) if folded)


#: The longest name key: a key is for finding candidates, and a longer name is compared whole anyway.
NAME_KEY_LENGTH = 100


def name_key(name: str | None) -> str:
    """Return one name folded (see ``fold``) as the duplicate check looks it up: at most 100 letters."""
    return fold(name)[:NAME_KEY_LENGTH]


def birth_year(birth_date, estimated_age: int | None, estimated_at) -> int | None:
    """Return the year a child was born, or about: the birth date's, or the year of the estimate less the age."""
    if birth_date is not None:
        return birth_date.year
    if estimated_age is None or estimated_at is None:
        return None
    return estimated_at.year - estimated_age
