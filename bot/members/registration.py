"""Rules of registration: what a valid answer is, deep-link payloads, saving a member."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from bot.regions import Regions, Topic
from storage.db import Storage
from storage.members import Member, Profile

# The version of the privacy notice (catalog keys reg.consent, the short notice, and
# reg.consent_full, behind "Подробнее"). Change it when the text changes: the version is stored
# with every consent.
CONSENT_VERSION = "2026-12-02"

NAME_MIN, NAME_MAX = 2, 100
ORG_MIN, ORG_MAX = 2, 200

_SPACES = re.compile(r"\s+")
_LETTER = re.compile(r"[^\W\d_]")
PAYLOAD_RE = re.compile(r"^(r|inv|ev|ci|s)_([A-Za-z0-9_-]{1,60})$")


def clean_text(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


def check_name(text: str) -> tuple[str | None, str | None]:
    """(value, None) if usable, else (None, catalog key of the hint)."""
    value = clean_text(text)
    if value.startswith("/"):
        return None, "reg.hint.not_command"
    if len(value) < NAME_MIN or not _LETTER.search(value):
        return None, "reg.hint.name_short"
    if len(value) > NAME_MAX:
        return None, "reg.hint.name_long"
    return value, None


def check_organisation(text: str) -> tuple[str | None, str | None]:
    value = clean_text(text)
    if value.startswith("/"):
        return None, "reg.hint.not_command"
    if len(value) < ORG_MIN or not _LETTER.search(value):
        return None, "reg.hint.org_short"
    if len(value) > ORG_MAX:
        return None, "reg.hint.org_long"
    return value, None


@dataclass(frozen=True)
class StartPayload:
    kind: str  # "region" | "invite" | "event" | "checkin" | "signup" (a coordinator's link)
    value: str


def parse_payload(payload: str | None) -> StartPayload | None:
    """`r_RU-SAM` (sign-up for a region) or `inv_<secret>` (coordinator invite)."""
    if not payload:
        return None
    match = PAYLOAD_RE.match(payload.strip())
    if not match:
        return None
    kinds = {"r": "region", "inv": "invite", "ev": "event", "ci": "checkin", "s": "signup"}
    return StartPayload(kinds[match[1]], match[2])


def valid_topics(topics: list[str], known: list[Topic]) -> tuple[str, ...]:
    codes = {t.code for t in known}
    return tuple(sorted({t for t in topics if t in codes}))


def profile_from(data: dict[str, object], regions: Regions, topics: list[Topic]) -> Profile | None:
    """A complete profile from the dialogue's answers, or None if something is missing."""
    name, org, region, lang = (data.get(k) for k in ("name", "org", "region", "lang"))
    chosen = data.get("topics") or []
    if not (isinstance(name, str) and isinstance(org, str) and isinstance(region, str)):
        return None
    if regions.get(region) is None or not isinstance(chosen, list):
        return None
    return Profile(
        name=name,
        organisation=org,
        region_code=region,
        language=lang if lang in ("ru", "en") else "ru",
        topics=valid_topics([str(t) for t in chosen], topics),
    )


async def register(
    storage: Storage,
    *,
    telegram_id: int,
    profile: Profile,
    consent_at: datetime,
    now: datetime,
    approval: str = "approved",
) -> tuple[Member, bool]:
    """Create the member, or update the same one on a repeated registration (which keeps
    their approval: registering again does not ask the coordinators again)."""
    return await storage.members.upsert(
        telegram_id,
        profile,
        consent_version=CONSENT_VERSION,
        consent_at=consent_at,
        now=now,
        approval=approval,
    )
