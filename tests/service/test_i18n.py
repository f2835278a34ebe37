"""Languages: the switcher, the remembered choice, and the catalogs."""

from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from referral.auth.models import User
from referral.extensions import db

TRANSLATIONS = Path(__file__).resolve().parents[2] / "referral" / "translations"


def test_switching_language_is_remembered_for_the_user(app, make_user, login_as):
    user = make_user()
    client = login_as(user)
    assert "Welcome" in client.get("/").get_data(as_text=True)
    response = client.post("/language", data={"locale": "ru", "next": "/"})
    assert response.status_code == 302
    assert "Добро пожаловать" in client.get("/").get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, user.id).locale == "ru"

    # A new browser session for the same user starts in Russian.
    fresh = app.test_client()
    fresh.post("/login", data={"email": user.email, "password": "correct horse battery"})
    page = fresh.get("/").get_data(as_text=True)
    assert "Добро пожаловать" in page and 'lang="ru"' in page


def test_kazakh_and_browser_language_for_visitors(client):
    assert "Кіру" in client.get("/login", headers={"Accept-Language": "kk"}).get_data(as_text=True)
    assert "Войти" in client.get("/login", headers={"Accept-Language": "ru-RU,ru;q=0.9"}).get_data(as_text=True)
    client.post("/language", data={"locale": "kk"})
    assert "Кіру" in client.get("/login", headers={"Accept-Language": "ru"}).get_data(as_text=True)


def test_unknown_language_and_foreign_redirect_are_ignored(client):
    response = client.post("/language", data={"locale": "xx", "next": "https://evil.example/"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert "Sign in" in client.get("/login", headers={"Accept-Language": "en"}).get_data(as_text=True)


def test_api_error_messages_follow_the_token_owners_language(client, make_user, token_for):
    user = make_user(locale="ru")
    response = client.get("/api/v1/agencies/424242", headers=token_for(user))
    assert response.status_code == 404
    assert response.json["message"] == "Организация не найдена."


@pytest.mark.parametrize("locale", ["ru", "kk"])
def test_compiled_catalogs_match_their_sources(locale):
    folder = TRANSLATIONS / locale / "LC_MESSAGES"
    with open(folder / "messages.po", "rb") as source:
        po = {_key(m.id): _key(m.string) for m in read_po(source) if m.id and m.string}
    with open(folder / "messages.mo", "rb") as compiled:
        mo = {_key(m.id): _key(m.string) for m in read_mo(compiled) if m.id and m.string}
    assert po == mo, "run: pybabel compile -d referral/translations"
    assert len(po) > 100


def _key(value):
    return tuple(value) if isinstance(value, (list, tuple)) else value


KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_ngettext": (1, 2), "_l": None, "lazy_gettext": None,
            "N_": None}


def _source_messages() -> set:
    """Extract every translatable message from the source, as pybabel does with babel.cfg."""
    root = TRANSLATIONS.parents[1]
    mapping = [("referral/**.py", "python"), ("workflows/**.py", "python"), ("agencies/**.py", "python"),
               ("referral/templates/**.html", "jinja2")]
    found = set()
    for _, _, message, _, _ in extract_from_dir(root, method_map=mapping, keywords=KEYWORDS,
                                                 options_map={"referral/templates/**.html": {}}):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


@pytest.mark.parametrize("locale", ["ru", "kk"])
def test_every_message_of_the_source_is_translated(locale):
    with open(TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po", "rb") as source:
        catalog = read_po(source)
    translated = {(m.id[0] if isinstance(m.id, tuple) else m.id) for m in catalog
                  if m.id and all(m.string if isinstance(m.string, tuple) else [m.string])}
    missing = sorted(_source_messages() - translated)
    assert missing == [], f"untranslated in {locale} (run pybabel extract/update, then translate): {missing[:10]}"
