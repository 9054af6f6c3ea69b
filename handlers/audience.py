"""The audience picker of /new_event and /broadcast: regions (districts or the whole network
for a federal coordinator, one's own regions for a regional one) and topics, as toggle buttons
under the flow's prefix, or a region's name typed at the regions step."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from bot.buttons import Choices
from bot.i18n import t
from bot.runtime.context import BotContext
from handlers.common import Button, esc
from handlers.dialog import go, show, strip_keyboard
from storage.dialogs import Dialog


def _lang(dialog: Dialog) -> str:
    return str(dialog.data.get("lang", "ru"))


def region_rows(
    context: BotContext, data: dict[str, Any], lang: str, prefix: str
) -> list[list[Button]]:
    """Toggle buttons for target regions: a federal coordinator picks whole districts or the
    whole network, a regional one among their regions."""
    chosen, pick = set(data.get("regions") or []), Choices(prefix)
    rows: list[list[Button]] = []
    if data.get("federal"):
        rows.append([(t(lang, "events.all_regions"), pick.pack("all"))])
        for district in context.regions.districts:
            codes = {r.code for r in context.regions.in_district(district.code)}
            mark = "✅ " if codes <= chosen else ("◽️ " if codes & chosen else "▫️ ")
            rows.append([(mark + district.name(lang), pick.pack("dist", district.code))])
    else:
        for code in data.get("allowed") or []:
            region = context.regions.get(code)
            mark = "✅ " if code in chosen else "▫️ "
            rows.append([(mark + (region.name(lang) if region else code), pick.pack("reg", code))])
    rows.append([(t(lang, "reg.topics_done"), pick.pack("regions_done"))])
    return rows


def toggle_regions(context: BotContext, data: dict[str, Any], parts: list[str]) -> list[str] | None:
    """The regions chosen after a region button ([prefix, kind, code]); None if forged."""
    chosen = set(data.get("regions") or [])
    match parts[1:]:
        case ["reg", code] if not data.get("federal") and code in (data.get("allowed") or []):
            return sorted(chosen ^ {code})
        case ["dist", code] if data.get("federal"):
            codes = {r.code for r in context.regions.in_district(code)}
            if not codes:
                return None
            return sorted(chosen - codes if codes <= chosen else chosen | codes)
        case ["all"] if data.get("federal"):
            everything = {r.code for r in context.regions.regions}
            return [] if chosen == everything else sorted(everything)
    return None


async def typed_region(context: BotContext, dialog: Dialog, text: str) -> None:
    """A region's name typed at the regions step adds (or removes) that single region."""
    lang = _lang(dialog)
    allowed = None if dialog.data.get("federal") else set(dialog.data.get("allowed") or [])
    found = [r for r in context.regions.match(text[:100]) if allowed is None or r.code in allowed]
    await strip_keyboard(context, dialog.chat_id, dialog.message_id)
    moved = replace(dialog, message_id=None)
    if not found:
        hint = t(lang, "events.hint.region_unknown", typed=esc(text[:100]))
        await show(context, moved, new_message=True, hint=hint)
        return
    region = found[0]
    chosen = set(dialog.data.get("regions") or [])
    key = "events.region_removed" if region.code in chosen else "events.region_added"
    hint = t(lang, key, region=esc(region.name(lang)))
    await go(context, moved, "regions", hint=hint, regions=sorted(chosen ^ {region.code}))


def topic_rows(
    context: BotContext, data: dict[str, Any], lang: str, prefix: str
) -> list[list[Button]]:
    chosen, pick = set(data.get("topics") or []), Choices(prefix)
    rows = [
        [(("✅ " if tp.code in chosen else "▫️ ") + tp.name(lang), pick.pack("topic", tp.code))]
        for tp in context.topics
    ]
    everyone = ("✅ " if not chosen else "") + t(lang, "events.all_topics")
    rows.append([(everyone, pick.pack("topics_all"))])
    rows.append([(t(lang, "reg.topics_done"), pick.pack("topics_done"))])
    return rows
