"""Regions of the network: shipped data (bot/data/regions.json) or REGIONS_FILE.

Each region has a code (ISO 3166-2 for Russia's federal subjects, ISO 3166-1 for partner
countries), Russian and English names, a federal district (or ABROAD) and an IANA time zone.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rapidfuzz import fuzz, process

from bot.timefmt import MOSCOW

CODE_RE = re.compile(r"^[A-Z]{2}(-[A-Z0-9]{1,3})?$")
MATCH_THRESHOLD = 72
MIN_QUERY = 3  # "да", "а" are not region names
SHORT_QUERY = 5  # shorter queries must be the start of a name or alias
DISTRICT_RE = re.compile(r"^[A-Z0-9_-]{1,20}$")


@dataclass(frozen=True)
class District:
    code: str
    ru: str
    en: str

    def name(self, lang: str) -> str:
        return self.en if lang == "en" else self.ru


@dataclass(frozen=True)
class Region:
    code: str
    ru: str
    en: str
    district: str
    tz: ZoneInfo
    aliases: tuple[str, ...] = ()

    def name(self, lang: str) -> str:
        return self.en if lang == "en" else self.ru


class RegionsError(ValueError):
    """The regions file is not usable; the message says why."""


def _normalise(text: str) -> str:
    text = text.casefold().replace("ё", "е")
    return re.sub(r"[^\w]+", " ", text).strip()


# words people put before a place's name: "г. Казань", "город Шымкент", "село ..."
_PLACE_WORDS = frozenset({"г", "гор", "город", "пгт", "с", "село", "пос", "поселок", "city", "of"})


def _query(text: str) -> str:
    words = _normalise(text).split()
    kept = [w for w in words if w not in _PLACE_WORDS]
    return " ".join(kept or words)


SHORT_NAME = 5  # names and aliases shorter than this ("мск", "омск", "спб"): written in full only
LENGTH_RATIO = 0.8  # a whole name with typos is about as long as what was typed
START_THRESHOLD = 85  # the start of a longer name: about one typo, no more


def _score(query: str, choice: str, **_: object) -> float:
    """How much `choice` (a name or alias) looks like `query`: the whole name with typos, the
    start of the name or of one of its words ("самарская" for "самарская область"), or the
    same words in another order. A short name found inside a longer query is no match
    ("орск" in "усть каменогорск"), nor a short alias a longer word looks like ("мск" for
    "минск", "мыски"); a whole name much shorter or longer than the query is none either
    ("самара" for "самарканд"), nor the start of a name with more than a typo ("самарская"
    for "самарканд")."""
    if len(choice) < SHORT_NAME:
        return 100.0 if choice == query or choice in query.split() else 0.0
    best = 0.0
    if min(len(query), len(choice)) >= LENGTH_RATIO * max(len(query), len(choice)):
        best = fuzz.ratio(query, choice)
    for start in [0, *(m.end() for m in re.finditer(r" ", choice))]:
        score = fuzz.ratio(query, choice[start : start + len(query)])
        if score >= START_THRESHOLD:
            best = max(best, score)
    if " " in query:
        best = max(best, fuzz.token_set_ratio(query, choice))
    return best


def sort_key(name: str) -> str:
    """Where a region stands in an alphabetical list: "Республика Татарстан" under Т."""
    key = name.casefold().replace("ё", "е")
    for prefix in ("республика ", "republic of the ", "republic of ", "the "):
        if key.startswith(prefix):
            return key[len(prefix) :]
    return key


class Regions:
    def __init__(self, districts: list[District], regions: list[Region]) -> None:
        self.districts = districts
        self.regions = regions
        self._by_code = {r.code: r for r in regions}
        self._district_by_code = {d.code: d for d in districts}
        self._choices: list[str] = []
        self._choice_region: list[Region] = []
        for region in regions:
            for label in (region.ru, region.en, *region.aliases):
                self._choices.append(_normalise(label))
                self._choice_region.append(region)

    def get(self, code: str) -> Region | None:
        return self._by_code.get(code)

    def zone(self, code: str | None) -> ZoneInfo:
        """The time zone of a region; Moscow time for no region or one no longer in the list
        (a member of a region taken out of REGIONS_FILE, a report without a region)."""
        region = self._by_code.get(code) if code else None
        return region.tz if region else MOSCOW

    def district(self, code: str) -> District | None:
        return self._district_by_code.get(code)

    def in_district(self, district_code: str) -> list[Region]:
        return [r for r in self.regions if r.district == district_code]

    def alphabetical(self, lang: str) -> list[Region]:
        """Every region and partner country in one list, by name in `lang` (for those who
        do not know their federal district)."""
        return sorted(self.regions, key=lambda r: sort_key(r.name(lang)))

    def parse_code(self, text: str) -> Region | None:
        """'RU-SAM', 'ru-sam' or 'SAM' (a Russian subject without the prefix)."""
        code = text.strip().upper()
        return self._by_code.get(code) or self._by_code.get(f"RU-{code}")

    def match(self, text: str, limit: int = 3) -> list[Region]:
        """Regions whose name or alias looks like the typed text, best first."""
        exact = self.parse_code(text) if CODE_RE.match(text.strip().upper()) else None
        query = _query(text)
        found: list[Region] = [exact] if exact else []
        if len(query) < MIN_QUERY:  # "Ош", "СПб": only a name or alias written in full
            for choice, region in zip(self._choices, self._choice_region, strict=True):
                if choice == query and region not in found:
                    found.append(region)
            return found[:limit]
        results = process.extract(
            query, self._choices, scorer=_score, limit=limit * 6, score_cutoff=MATCH_THRESHOLD
        )
        # Prefer exact alias/name hits, then higher scores; one entry per region.
        results.sort(key=lambda r: (self._choices[r[2]] != query, -r[1]))
        best = results[0][1] if results else 0
        for choice, score, index in results:
            if score < best - 8:
                continue
            if len(query) < SHORT_QUERY and not any(
                word.startswith(query) for word in choice.split()
            ):
                continue
            region = self._choice_region[index]
            if region not in found:
                found.append(region)
            if len(found) >= limit:
                break
        return found


def _parse(data: Any, source: str) -> Regions:
    try:
        districts = [District(d["code"], d["ru"], d["en"]) for d in data["districts"]]
        for district in districts:
            if not DISTRICT_RE.match(district.code):
                raise RegionsError(f"{source}: bad district code {district.code!r}")
        district_codes = {d.code for d in districts}
        regions: list[Region] = []
        seen: set[str] = set()
        for item in data["regions"]:
            code = item["code"]
            if not CODE_RE.match(code) or code in seen:
                raise RegionsError(f"{source}: bad or repeated region code {code!r}")
            if item["district"] not in district_codes:
                raise RegionsError(f"{source}: region {code} has unknown district")
            try:
                zone = ZoneInfo(item["tz"])
            except (ZoneInfoNotFoundError, ValueError):
                raise RegionsError(f"{source}: region {code} has unknown time zone") from None
            seen.add(code)
            regions.append(
                Region(
                    code=code,
                    ru=item["ru"],
                    en=item["en"],
                    district=item["district"],
                    tz=zone,
                    aliases=tuple(item.get("aliases", ())),
                )
            )
    except (KeyError, TypeError) as exc:
        raise RegionsError(f"{source}: missing field {exc}") from None
    if not regions:
        raise RegionsError(f"{source}: no regions")
    return Regions(districts, regions)


def load_regions(path: Path | None = None) -> Regions:
    """The shipped list, or the file named by REGIONS_FILE (same format)."""
    try:
        if path is None:
            text = resources.files("bot.data").joinpath("regions.json").read_text("utf-8")
            return _parse(json.loads(text), "regions.json")
        return _parse(json.loads(path.read_text("utf-8")), str(path))
    except (OSError, json.JSONDecodeError) as exc:
        raise RegionsError(f"{path}: {exc}") from None


@dataclass(frozen=True)
class Topic:
    code: str
    ru: str
    en: str

    def name(self, lang: str) -> str:
        return self.en if lang == "en" else self.ru


def load_topics() -> list[Topic]:
    text = resources.files("bot.data").joinpath("topics.json").read_text("utf-8")
    return [Topic(t["code"], t["ru"], t["en"]) for t in json.loads(text)["topics"]]
