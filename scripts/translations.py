"""Keep the Russian and Kazakh catalogues in step with the source.

    python scripts/translations.py missing        # extract, update; print untranslated messages as JSON
    python scripts/translations.py fill FILE.json # add {"msgid": ["ru", "kk"], ...}, then compile

A message with a plural form takes ["ru one|few|many", "kk one|other"]: the forms split on "|".
Fuzzy matches made by pybabel update are never kept: they are cleared and reported as missing.
"""

import json
import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
TRANSLATIONS = ROOT / "referral" / "translations"
LOCALES = ("ru", "kk")
PYBABEL = str(Path(sys.executable).with_name("pybabel"))


def _run(*args: str) -> None:
    subprocess.run([PYBABEL, "-q", *args], cwd=ROOT, check=True)


def _update() -> None:
    keywords = ("_l", "N_", "lazy_gettext", "lazy_ngettext:1,2")
    _run("extract", "-F", "babel.cfg", *(f"-k{keyword}" for keyword in keywords),
         "-o", str(TRANSLATIONS / "messages.pot"), ".")
    _run("update", "-i", str(TRANSLATIONS / "messages.pot"), "-d", str(TRANSLATIONS), "--no-fuzzy-matching",
         "--ignore-obsolete")


def _catalog(locale: str):
    with open(TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po", "rb") as source:
        return read_po(source, locale=locale)


def _save(locale: str, catalog) -> None:
    with open(TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po", "wb") as target:
        write_po(target, catalog, ignore_obsolete=True)


def _missing(catalog) -> list:
    return [m for m in catalog if m.id and not all(m.string if isinstance(m.string, tuple) else [m.string])]


def missing() -> None:
    _update()
    found: dict = {}
    for index, locale in enumerate(LOCALES):
        for message in _missing(_catalog(locale)):
            key = message.id[0] if isinstance(message.id, tuple) else message.id
            found.setdefault(key, ["", ""])[index] = "?"
    json.dump(found, sys.stdout, ensure_ascii=False, indent=1)
    print()


def fill(path: str) -> None:
    wanted = json.loads(Path(path).read_text(encoding="utf-8"))
    _update()
    for index, locale in enumerate(LOCALES):
        catalog = _catalog(locale)
        for message in catalog:
            key = message.id[0] if isinstance(message.id, tuple) else message.id
            if key not in wanted:
                continue
            text = wanted[key][index]
            message.string = tuple(text.split("|")) if isinstance(message.id, tuple) else text
            message.flags.discard("fuzzy")
        _save(locale, catalog)
        left = [m.id for m in _missing(catalog)]
        if left:
            print(f"{locale}: still untranslated: {left}", file=sys.stderr)
    _run("compile", "-d", str(TRANSLATIONS))


if __name__ == "__main__":
    if sys.argv[1:2] == ["missing"]:
        missing()
    elif sys.argv[1:2] == ["fill"] and len(sys.argv) == 3:
        fill(sys.argv[2])
    else:
        sys.exit(__doc__)
