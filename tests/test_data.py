"""Shipped data and catalogs: regions, topics, translations, plural forms."""

from __future__ import annotations

import json
import re
import string
from pathlib import Path

import pytest

from bot.i18n import catalog, plural_form, t, tn
from bot.regions import RegionsError, load_regions, load_topics


def test_regions_cover_russia_and_partner_countries() -> None:
    regions = load_regions()
    russian = [r for r in regions.regions if r.code.startswith("RU-")]
    assert len(russian) == 83  # every subject in ISO 3166-2:RU
    assert {r.code for r in regions.regions if not r.code.startswith("RU-")} == {"KZ", "AM", "KG"}
    assert len(regions.districts) == 9  # 8 federal districts + another country
    for district in regions.districts:
        assert regions.in_district(district.code)
    assert regions.get("RU-KGD").tz.key == "Europe/Kaliningrad"  # type: ignore[union-attr]
    assert regions.get("RU-IRK").tz.key == "Asia/Irkutsk"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("Самара", "RU-SAM"),
        ("самарская", "RU-SAM"),
        ("Питер", "RU-SPE"),
        ("Казань", "RU-TA"),
        ("Irkutsk", "RU-IRK"),
        ("ХМАО", "RU-KHM"),
        ("Ереван", "AM"),
        ("RU-SAM", "RU-SAM"),
        ("sam", "RU-SAM"),
        ("Калининград", "RU-KGD"),
    ],
)
def test_typed_region_names_match(typed: str, code: str) -> None:
    assert load_regions().match(typed)[0].code == code


def test_nonsense_matches_nothing() -> None:
    assert load_regions().match("xyzzy qwerty") == []


def test_regions_file_replaces_the_list(tmp_path: Path) -> None:
    path = tmp_path / "regions.json"
    path.write_text(
        json.dumps(
            {
                "districts": [{"code": "N", "ru": "Север", "en": "North"}],
                "regions": [
                    {
                        "code": "XX-AB",
                        "ru": "Аб",
                        "en": "Ab",
                        "district": "N",
                        "tz": "Europe/Moscow",
                    }
                ],
            }
        )
    )
    regions = load_regions(path)
    assert [r.code for r in regions.regions] == ["XX-AB"]
    path.write_text(
        json.dumps(
            {
                "districts": [],
                "regions": [
                    {"code": "XX-AB", "ru": "Аб", "en": "Ab", "district": "N", "tz": "Mars/Olympus"}
                ],
            }
        )
    )
    with pytest.raises(RegionsError):
        load_regions(path)


def test_topics_include_the_required_ones() -> None:
    names = {tp.ru for tp in load_topics()}
    assert {
        "Защита прав детей",
        "ЖКХ",
        "Межнациональные отношения",
        "Адаптация мигрантов",
        "Правозащита и противодействие дискриминации",
        "Молодёжь",
    } <= names
    assert len(names) == 13


def _fields(text: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(text) if f}


def test_catalogs_have_the_same_keys_and_placeholders() -> None:
    ru, en = catalog("ru"), catalog("en")
    assert set(ru) == set(en)
    for key in ru:
        ru_value, en_value = ru[key], en[key]
        if isinstance(ru_value, dict):
            assert isinstance(en_value, dict) and "other" in ru_value and "other" in en_value
            assert {"one", "few", "many"} <= set(ru_value), key
            fields = {_fields(v).__str__() for v in [*ru_value.values(), *en_value.values()]}
            assert len(fields) == 1, key
        else:
            assert _fields(ru_value) == _fields(en_value), key


def test_every_key_used_in_the_code_exists() -> None:
    root = Path(__file__).parent.parent
    used: set[str] = set()
    for path in [*root.glob("bot/**/*.py"), *root.glob("handlers/**/*.py")]:
        used |= set(re.findall(r'\bt\(\s*\w+,\s*"([a-z_.]+)"', path.read_text()))
        used |= set(
            re.findall(
                r'(?:Denied|NotAllowed|WrongInput|Refused)\(\s*"([a-z_.]+)"', path.read_text()
            )
        )
    missing = {key for key in used if key not in catalog("ru")}
    assert not missing


def test_every_dialogue_says_why_it_closed() -> None:
    """An idle dialogue is closed by the sweep, and a new one replaces an open one: both tell
    the person in words of that dialogue. /cancel too."""
    from handlers import broadcast, evaluations, incidents
    from handlers.events import create as event_create
    from handlers.events import manage as event_manage
    from handlers.members import registration

    flows = {
        registration.REG,
        registration.SET,
        event_create.EVT,
        event_manage.EVM,
        broadcast.BC,
        incidents.REPORT,
        incidents.COORD,
        incidents.REPORTER,
        evaluations.EVL,
    }
    for lang in ("ru", "en"):
        for flow in flows:
            assert f"dialog.timeout.{flow}" in catalog(lang), (lang, flow)
            assert f"dialog.replaced.{flow}" in catalog(lang), (lang, flow)
    assert set(registration.CANCELLED) <= flows


@pytest.mark.parametrize(
    ("n", "form", "text"),
    [
        (1, "one", "1 активный участник"),
        (2, "few", "2 активных участника"),
        (5, "many", "5 активных участников"),
        (11, "many", "11 активных участников"),
        (21, "one", "21 активный участник"),
        (24, "few", "24 активных участника"),
    ],
)
def test_russian_plural_forms(n: int, form: str, text: str) -> None:
    assert plural_form("ru", n) == form
    assert tn("ru", "stats.members", n) == text


def test_english_plural_and_unknown_language_falls_back() -> None:
    assert tn("en", "stats.members", 1) == "1 active member"
    assert tn("en", "stats.members", 3) == "3 active members"
    assert t("de", "common.cancel") == t("ru", "common.cancel")
