"""'Someone is in danger' (#13): the fast step of /report (what is happening: a few words, a
voice message or a location; then it is sent at once) and the optional questions afterwards
(flow "rpx", kept in memory only: it holds the receipt code). Rules in bot/incidents/fast.py."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from telegram import InlineKeyboardMarkup, Message, Update

from bot import dialogs
from bot.buttons import BACK, CANCEL, Choices
from bot.i18n import t
from bot.incidents.fast import FAST_MIN, Detail, add_fast_detail, fast_report
from bot.incidents.report import CATEGORIES, DESCRIPTION_MAX, MAX_ATTACHMENTS, submit
from bot.limits import count_report
from bot.refusals import Refused
from bot.roles.access import Caller
from bot.runtime.context import BotContext
from handlers.common import Button, edit_or_send, keyboard, send
from handlers.dialog import Answers, Flow, go, press_flow_button, show, strip_keyboard
from handlers.dialog import begin as begin_dialog
from handlers.incidents.common import (
    _attachment,
    _home_zone,
    _lang,
    _reports_left,
    _too_many,
    _wake,
)
from handlers.members.registration import (
    ANONYMOUS_WORDS,
    FINISH_WORDS,
    NAMED_WORDS,
    SKIP_WORDS,
    typed_button,
    typed_words,
)
from storage.dialogs import Dialog

EXTRAS = "rpx"  # the optional questions after a fast report
EXTRA = Choices(EXTRAS)
EXTRAS_PATTERN = EXTRA.pattern
EXTRA_STEPS = ("category", "place", "description", "files")
REPORT = "rep"
REP = Choices(REPORT)  # its "make it anonymous / named" button


# ---------------------------------------------------------------- typed words


def typed_choice(dialog: Dialog, text: str) -> list[str] | None:
    """The button a typed word stands for in /report and in the questions after a fast
    report: "Отмена" and "Назад" everywhere; "Анонимно" / "От своего имени" where the sender
    is chosen; "Пропустить" / "Закончить" in the questions afterwards. Never a description."""
    said = typed_button(dialog, text)
    if said is not None:
        return said
    word = typed_words(text)
    if dialog.flow == REPORT and dialog.step in ("fast", "anonymity"):
        toggle = "fastanon" if dialog.step == "fast" else "anon"
        if word in ANONYMOUS_WORDS:
            return [REPORT, toggle, "yes"]
        if word in NAMED_WORDS:
            return [REPORT, toggle, "no"]
    if dialog.flow == EXTRAS and word in SKIP_WORDS:
        return [EXTRAS, "skip"]
    if dialog.flow == EXTRAS and word in FINISH_WORDS:
        return [EXTRAS, "done"]
    return None


# ---------------------------------------------------------------- the fast step of /report


def fast_question(dialog: Dialog) -> tuple[str, InlineKeyboardMarkup]:
    lang = _lang(dialog)
    anonymous = bool(dialog.data.get("anonymous"))
    who = t(lang, "incidents.fast_anonymous" if anonymous else "incidents.fast_named")
    toggle = (
        (t(lang, "incidents.fast_make_named"), REP.pack("fastanon", "no"))
        if anonymous
        else (t(lang, "incidents.fast_make_anonymous"), REP.pack("fastanon", "yes"))
    )
    rows: list[list[Button]] = [
        [toggle],
        [(t(lang, "common.back"), BACK), (t(lang, "common.cancel"), CANCEL)],
    ]
    return t(lang, "incidents.ask.fast", who=who), keyboard(rows)


async def fast_button(context: BotContext, dialog: Dialog, choice: str) -> str | None:
    if choice not in ("yes", "no"):
        return None
    await go(context, dialog, "fast", anonymous=choice == "yes")
    return ""


async def fast_answer(update: Update, context: BotContext, dialog: Dialog, caller: Caller) -> None:
    """A few words, a voice message or a location: the report goes out at once."""
    message = update.effective_message
    assert message is not None
    lang = _lang(dialog)
    moved = replace(dialog, message_id=None)
    text = (message.text or "").strip()
    changes: dict[str, Any] = {}
    hint = None
    if message.location is not None:
        changes["location"] = [message.location.latitude, message.location.longitude]
    elif message.voice is not None:
        changes["files"] = [["voice", message.voice.file_id]]
    elif text and len(text) < FAST_MIN:
        hint = t(lang, "incidents.hint.fast_short", limit=FAST_MIN)
    elif len(text) > DESCRIPTION_MAX:
        hint = t(lang, "incidents.hint.too_long", limit=DESCRIPTION_MAX)
    elif text:
        changes["description"] = text
    else:
        hint = t(lang, "incidents.hint.fast_kind")
    await strip_keyboard(context, dialog.chat_id, dialog.message_id)
    if hint is not None:
        await show(context, moved, new_message=True, hint=hint)
        return
    moved = replace(moved, data={**moved.data, **changes})
    await send_fast(update, context, caller, moved)


async def send_fast(update: Update, context: BotContext, caller: Caller, dialog: Dialog) -> None:
    lang = _lang(dialog)
    now = context.now()
    left, limit = await _reports_left(context, caller)
    if left <= 0:
        await send(update, context, _too_many(context, limit, lang))
        return
    today = now.astimezone(_home_zone(context, dialog)).date()
    try:
        report = fast_report(dict(dialog.data), context.regions, today)
    except Refused as exc:
        await show(context, dialog, new_message=True, hint=t(lang, exc.key))
        return
    incident = await submit(
        context.storage, context.settings, context.regions, caller, report, now, dialog_flow=REPORT
    )
    await count_report(context.storage, context.bot_data.report_quota, caller, incident, now)
    if report.anonymous:  # in memory only, for an abuse mark
        context.bot_data.reporters.remember(incident.id, caller.telegram_id, now)
    context.bot_data.checkpoint_wanted = report.anonymous
    _wake(context)
    key = "incidents.receipt_fast_anonymous" if report.anonymous else "incidents.receipt_fast"
    receipt = t(lang, key, code=incident.code) + "\n\n" + t(lang, "incidents.fast_more")
    await send(update, context, receipt)
    extras = await begin_dialog(
        context,
        telegram_id=caller.telegram_id,
        flow=EXTRAS,
        step="category",
        data={"lang": lang, "code": incident.code, "files": 0},
    )
    await show(context, extras, new_message=True)


# ---------------------------------------------------------------- the optional questions


def extra_question(context: BotContext, dialog: Dialog) -> tuple[str, InlineKeyboardMarkup]:
    lang, step = _lang(dialog), dialog.step
    rows: list[list[Button]] = []
    text = t(lang, f"incidents.ask_fast.{step}", limit=MAX_ATTACHMENTS)
    if step == "category":
        buttons = [
            (t(lang, f"incidents.category_button.{c}"), EXTRA.pack("cat", c)) for c in CATEGORIES
        ]
        rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    label = "incidents.files_done" if step == "files" else "incidents.fast_skip"
    rows.append(
        [
            (t(lang, label), EXTRA.pack("skip")),
            (t(lang, "incidents.fast_finish"), EXTRA.pack("done")),
        ]
    )
    return text, keyboard(rows)


def _after(step: str) -> str | None:
    index = EXTRA_STEPS.index(step)
    return EXTRA_STEPS[index + 1] if index + 1 < len(EXTRA_STEPS) else None


async def press_extra(update: Update, context: BotContext) -> None:
    await press_flow_button(update, context, EXTRAS, on_extra, lost="incidents.fast_lost")


async def on_extra(
    context: BotContext, caller: Caller, dialog: Dialog, parts: list[str]
) -> str | None:
    match parts:
        case ["rpx", "done"] | ["dlg", "cancel"]:
            await _finish(context, dialog)
        case ["rpx", "skip"]:
            await _forward(context, dialog)
        case ["rpx", "cat", category] if dialog.step == "category" and category in CATEGORIES:
            if await _add(context, dialog, Detail(category=category)):
                await _forward(context, dialog, added=True)
        case _:
            return None
    return ""


async def _forward(context: BotContext, dialog: Dialog, *, added: bool = False) -> None:
    lang = _lang(dialog)
    hint = t(lang, "incidents.fast_added") if added else None
    following = _after(dialog.step)
    if following is None:
        await _finish(context, dialog, hint=hint)
        return
    await go(context, dialog, following, hint=hint)


async def _finish(context: BotContext, dialog: Dialog, hint: str | None = None) -> None:
    lang = _lang(dialog)
    await dialogs.end(context.storage, dialog.telegram_id)
    text = t(lang, "incidents.fast_done", code=dialog.data.get("code"))
    await edit_or_send(
        context, dialog.chat_id, dialog.message_id, f"{hint}\n\n{text}" if hint else text
    )


async def _add(context: BotContext, dialog: Dialog, detail: Detail) -> bool:
    """Add one answer to the report sent; False (and the person told) if it was refused."""
    lang = _lang(dialog)
    code = str(dialog.data.get("code"))
    try:
        await add_fast_detail(
            context.storage, context.settings, context.regions, code, detail, context.now()
        )
    except Refused as exc:
        params = {k: str(v) for k, v in exc.params.items()}
        if exc.key.startswith("incidents.hint."):
            moved = replace(dialog, message_id=None)
            await strip_keyboard(context, dialog.chat_id, dialog.message_id)
            await show(context, moved, new_message=True, hint=t(lang, exc.key, **params))
            return False
        await dialogs.end(context.storage, dialog.telegram_id)
        await strip_keyboard(context, dialog.chat_id, dialog.message_id)
        await context.bot.send_message(dialog.chat_id, t(lang, exc.key, **params))
        return False
    context.bot_data.checkpoint_wanted = True  # what was typed to a code leaves the -wal file
    _wake(context)
    return True


async def extra_text(update: Update, context: BotContext, dialog: Dialog) -> None:
    """A typed answer (or a location, a voice message, a photo, a document) to a question."""
    message = update.effective_message
    assert message is not None
    lang, step = _lang(dialog), dialog.step
    text = (message.text or "").strip()
    moved = replace(dialog, message_id=None)
    said = typed_choice(dialog, text)  # a button's word is never stored as an answer
    if said in (["dlg", "cancel"], [EXTRAS, "done"]):
        await strip_keyboard(context, dialog.chat_id, dialog.message_id)
        await _finish(context, moved)
        return
    if said == [EXTRAS, "skip"]:
        await strip_keyboard(context, dialog.chat_id, dialog.message_id)
        await _forward(context, moved)
        return
    detail = None if said is not None else _detail_of(message, step, text)  # "назад": a hint
    if detail is None:
        await strip_keyboard(context, dialog.chat_id, dialog.message_id)
        plain = step == "category" or said is not None
        hint_key = "reg.hint.use_buttons" if plain else "incidents.hint.details"
        await show(context, moved, new_message=True, hint=t(lang, hint_key))
        return
    if not await _add(context, dialog, detail):
        return
    await strip_keyboard(context, dialog.chat_id, dialog.message_id)
    if step == "files":  # more may follow
        count = int(dialog.data.get("files") or 0) + 1
        await go(context, moved, "files", hint=t(lang, "incidents.fast_added"), files=count)
        return
    await _forward(context, moved, added=True)


def _detail_of(message: Message, step: str, text: str) -> Detail | None:
    if step == "place" and message.location is not None:
        return Detail(location=(message.location.latitude, message.location.longitude))
    if step == "place" and text:
        return Detail(place=text)
    if step == "description" and message.voice is not None:
        return Detail(attachment=("voice", message.voice.file_id))
    if step == "description" and text:
        return Detail(description=text)
    if step == "files":
        found = _attachment(message)
        return Detail(attachment=found) if found is not None else None
    return None


@dataclass
class ExtraAnswers(Answers):
    """The report the optional answers go to (by its receipt code only), and how many files
    were added."""

    code: str = ""
    files: int = 0


FLOW = Flow(
    EXTRAS,
    render=extra_question,
    on_text=extra_text,
    on_button=press_extra,
    prefix=EXTRAS,
    steps=EXTRA_STEPS,
    volatile=True,
    data=ExtraAnswers,
)
