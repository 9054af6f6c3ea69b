"""The dialogue engine shared by every flow: show a step, move to a step, retire old buttons.

Each dialogue (registration, settings, new event ...) is one `Flow` record, exported by the
module that holds it and registered in bot/runtime/app.py in one loop: how it renders its
current step, what its buttons and typed answers do, how its question is shown again.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass, fields
from typing import Any, TypeVar, cast

from telegram import InlineKeyboardMarkup, MaybeInaccessibleMessage, Message, Update
from telegram.error import TelegramError

from bot import dialogs
from bot.buttons import DIALOG_PREFIX, Choices
from bot.i18n import t
from bot.incidents.helpcall import sounds_like_help
from bot.refusals import Refused
from bot.roles.access import Caller, identify
from bot.runtime.context import BotContext
from handlers.common import answer, caller_of, edit_or_send, lang_of, send, user_of
from storage.dialogs import Dialog

log = logging.getLogger(__name__)

Render = Callable[[BotContext, Dialog], tuple[str, InlineKeyboardMarkup | None]]
OnButton = Callable[[Update, BotContext], Awaitable[None]]
OnText = Callable[[Update, BotContext, Dialog], Awaitable[None]]
ShowAgain = Callable[[BotContext, Dialog], Awaitable[Any]]
# something a person was asked outside a dialogue and may be answering (True: it was that)
Waiting = Callable[[Update, BotContext, Caller], Awaitable[bool]]


def anyone(caller: Caller) -> bool:
    return True


@dataclass
class Answers:
    """What a dialogue has gathered so far; each flow's dataclass extends it (its `data`).

    The row keeps the answers as JSON (storage.dialogs); `answers_of` reads them back as the
    flow's dataclass, and `go` refuses a change to a field the dataclass does not have, so a
    typo in a field's name fails in the tests, not as a lost answer."""

    lang: str = "ru"


A = TypeVar("A", bound=Answers)


def answers_of(dialog: Dialog, kind: type[A]) -> A:
    """The dialogue's answers as `kind`: a key it does not know (written by an older version
    of the bot before a restart) is left out, a missing one takes its default."""
    names = {f.name for f in fields(kind)}
    return kind(**{k: v for k, v in dialog.data.items() if k in names})


def check_fields(flow: Flow | None, names: Iterable[str]) -> None:
    """Every name is a field of the flow's dataclass (when it has one)."""
    if flow is None or flow.data is None:
        return
    unknown = set(names) - {f.name for f in fields(flow.data)}
    if unknown:
        raise TypeError(f"{flow.name}: no such answers: {sorted(unknown)}")


@dataclass(frozen=True)
class Flow:
    """One dialogue, as the engine sees it.

    - `name`: stored in the dialogue's row (and in its catalog keys: dialog.replaced.<name>);
    - `render`: the current step as (text, buttons); None for a flow that shows its questions
      itself (the questionnaire), whose stale buttons it checks by itself;
    - `on_button`: the handler of its buttons, also for the shared 'Назад' / 'Отмена' (dlg:);
    - `on_text`: what a typed message does while the dialogue is open;
    - `show_again`: the current question as a new message (after a restart, an old button);
    - `prefix`: the callback prefix of its own buttons; `steps`: its steps, in order;
    - `may_use`: who may use it: checked by the engine at every button and typed answer (a
      role can go meanwhile: the dialogue is then closed, see closed_for); the rules check too;
    - `volatile`: kept in memory only (storage.dialogs.VOLATILE_FLOWS: never on disk);
    - `data`: the dataclass of its answers, where the flow has one.
    """

    name: str
    render: Render | None
    on_text: OnText | None
    on_button: OnButton | None = None
    show_again: ShowAgain | None = None
    prefix: str | None = None
    steps: tuple[str, ...] = ()
    may_use: Callable[[Caller], bool] = anyone
    volatile: bool = False
    data: type[Answers] | None = None

    def again(self) -> ShowAgain | None:
        """How its question is shown again: its own way, else the current step anew."""
        if self.show_again is not None:
            return self.show_again
        return show_anew if self.render is not None else None


def flow_of(context: BotContext, name: str) -> Flow | None:
    """The registered flow of that name (bot_data holds them untyped: the runtime's context
    does not import handlers)."""
    return cast("Flow | None", context.bot_data.flows.get(name))


async def show(
    context: BotContext, dialog: Dialog, *, new_message: bool, hint: str | None = None
) -> Dialog:
    """Show the current step: edit the question message in place, or send it anew."""
    flow = flow_of(context, dialog.flow)
    assert flow is not None and flow.render is not None, dialog.flow
    text, markup = flow.render(context, dialog)
    if hint:
        text = f"{hint}\n\n{text}"
    if new_message and dialog.message_id is not None:
        await strip_keyboard(context, dialog.chat_id, dialog.message_id)
    message_id = None if new_message else dialog.message_id
    shown = await edit_or_send(context, dialog.chat_id, message_id, text, markup)
    if shown != dialog.message_id:
        dialog = await dialogs.advance(
            context.storage, context.settings, dialog, now=context.now(), message_id=shown
        )
    return dialog


async def show_anew(context: BotContext, dialog: Dialog) -> Dialog:
    """The current question again, as a new message (after a restart cut an answer off)."""
    return await show(context, dialog, new_message=True)


async def go(
    context: BotContext,
    dialog: Dialog,
    step: str,
    *,
    new_message: bool = False,
    hint: str | None = None,
    **changes: Any,
) -> Dialog:
    check_fields(flow_of(context, dialog.flow), changes)
    dialog = await dialogs.advance(
        context.storage, context.settings, dialog, now=context.now(), step=step, **changes
    )
    return await show(context, dialog, new_message=new_message, hint=hint)


async def strip_keyboard(context: BotContext, chat_id: int, message_id: int | None) -> None:
    """Take the buttons off a question that is no longer current (best effort)."""
    if message_id is None:
        return
    try:
        await context.bot.edit_message_reply_markup(chat_id, message_id, reply_markup=None)
    except TelegramError as exc:
        log.debug("could not remove old buttons: %s", exc)


async def press_dialog_button(update: Update, context: BotContext) -> None:
    """'Назад' and 'Отмена' (dlg:...) belong to whichever dialogue is open: route by its flow."""
    query = update.callback_query
    assert query is not None
    dialog, expired = await dialogs.current(context.storage, user_of(update).id, context.now())
    flow = flow_of(context, dialog.flow) if dialog else None
    handler = flow.on_button if flow else None
    if handler is None:
        await button_not_current(update, context, dialog, expired)
        return
    await handler(update, context)


async def button_not_current(
    update: Update,
    context: BotContext,
    dialog: Dialog | None,
    expired: bool = False,
    *,
    lost: str | None = None,
) -> None:
    """A button that does not answer the open question: every flow's stale buttons end here.

    With a dialogue open, the person is not sent to /help: a button of an old step, of an old
    copy or of a dialogue closed since brings the open question back, as a new message (the
    old one loses its buttons); a button that does not fit the question it is on says so in
    an alert. With none open, the button no longer works (or the dialogue was closed for
    idling; `lost`: what to say for a flow kept in memory only, forgotten by a restart)."""
    query = update.callback_query
    assert query is not None
    if dialog is None:
        lang = lang_of(update, context, await caller_of(update, context))
        key = "dialog.expired" if expired else (lost or "dialog.stale")
        await answer(query, t(lang, key), alert=True)
        return
    lang = str(dialog.data.get("lang", "ru"))
    flow = flow_of(context, dialog.flow)
    again = flow.again() if flow else None
    if again is None or is_current_question(context, dialog, query.message):
        await answer(query, t(lang, "dialog.not_here"), alert=True)
        return
    log.info("a button of an old question (%s); the open one is shown again", dialog.flow)
    await answer(query, t(lang, "dialog.old_step"))
    await again(context, dialog)


def is_current_question(
    context: BotContext, dialog: Dialog, message: MaybeInaccessibleMessage | None
) -> bool:
    """The pressed button is on the dialogue's current question, or on a copy of it: when a
    send times out after Telegram took it, the bot sends the question again, and the buttons
    of both copies work (same text, same buttons). A question with only Back and Cancel is
    not taken for a copy."""
    if message is None:
        return False
    if message.message_id == dialog.message_id:
        return True
    if not isinstance(message, Message) or message.reply_markup is None:
        return False
    flow = flow_of(context, dialog.flow)
    if flow is None or flow.render is None:  # a flow that checks its buttons by itself
        return False
    text, markup = flow.render(context, dialog)
    if message.reply_markup != markup or _plain(message.text or "") != _plain(text):
        return False
    return any(
        button.callback_data and not str(button.callback_data).startswith(f"{DIALOG_PREFIX}:")
        for row in message.reply_markup.inline_keyboard
        for button in row
    )


def _plain(text: str) -> str:
    """A message's text without markup, as Telegram shows it (tags gone, entities decoded,
    ends trimmed), to compare the text Telegram gives back with the one the bot renders."""
    return html.unescape(re.sub(r"<[^>]+>", "", text)).strip()


ButtonAction = Callable[[BotContext, Caller, Dialog, list[str]], Awaitable[str | None]]


async def press_flow_button(
    update: Update, context: BotContext, flow: str, act: ButtonAction, *, lost: str | None = None
) -> None:
    """A button of `flow`'s current question: checks that the dialogue is open and the button
    is on its current question, runs `act` ('' done, a text for an alert, None stale), and
    answers the button press in every case. Permission is checked inside `act`. `lost`: what
    to say when no dialogue is open (a flow kept in memory only is forgotten by a restart)."""
    query = update.callback_query
    assert query is not None
    user = user_of(update)
    dialog, expired = await dialogs.current(context.storage, user.id, context.now())
    if dialog is None or dialog.flow != flow:
        await button_not_current(update, context, dialog, expired, lost=lost)
        return
    lang = str(dialog.data.get("lang", "ru"))
    message = query.message
    if not is_current_question(context, dialog, message):
        await button_not_current(update, context, dialog)
        return
    caller = await identify(context.storage, context.settings, user.id)
    if await closed_for(context, caller, dialog):
        await answer(query)
        return
    try:
        parts = Choices(flow).parse(query.data)
        result = await act(context, caller, dialog, parts)
    except Refused as exc:  # not allowed, or a button that cannot be (forged, outdated)
        await answer(query, t(lang, exc.key, **exc.params), alert=True)
        return
    if result is None:
        await button_not_current(update, context, dialog)
    else:
        await answer(query, result or None, alert=bool(result))


async def closed_for(context: BotContext, caller: Caller, dialog: Dialog) -> bool:
    """The flow's `may_use` no longer admits the caller (their role or membership went while
    the dialogue was open): the dialogue ends, its question loses its buttons, and the person
    is told why. True when it was closed. The rules check again at every step as well."""
    flow = flow_of(context, dialog.flow)
    if flow is None or flow.may_use(caller):
        return False
    log.info("a %s dialogue closed: its person may no longer use it", dialog.flow)
    await dialogs.end(context.storage, dialog.telegram_id)
    await strip_keyboard(context, dialog.chat_id, dialog.message_id)
    lang = str(dialog.data.get("lang", "ru"))
    await context.bot.send_message(dialog.chat_id, t(lang, "dialog.role_gone"))
    return True


async def close_other(context: BotContext, previous: Dialog, lang: str) -> None:
    """Another dialogue begins: the open one loses its buttons and the person is told."""
    await strip_keyboard(context, previous.chat_id, previous.message_id)
    text = t(lang, f"dialog.replaced.{previous.flow}")
    await context.bot.send_message(previous.telegram_id, text)


async def begin(
    context: BotContext,
    *,
    telegram_id: int,
    flow: str,
    step: str,
    data: dict[str, Any],
) -> Dialog:
    """Start a dialogue in the person's private chat. If another one was open, it is closed
    and the person is told so (its question loses its buttons)."""
    previous, _expired = await dialogs.current(context.storage, telegram_id, context.now())
    if previous is not None:
        await close_other(context, previous, str(data.get("lang", previous.data.get("lang", "ru"))))
    check_fields(flow_of(context, flow), data)
    return await dialogs.begin(
        context.storage,
        context.settings,
        telegram_id=telegram_id,
        chat_id=telegram_id,
        flow=flow,
        step=step,
        data=data,
        now=context.now(),
    )


def route_text(
    waiting: Sequence[Waiting] = (),
) -> Callable[[Update, BotContext], Coroutine[Any, Any, None]]:
    """A handler for any private message that is not a command: the open dialogue's step;
    with none open, something the person was asked and may be answering (`waiting`)."""

    async def on_message(update: Update, context: BotContext) -> None:
        caller = await caller_of(update, context)
        lang = lang_of(update, context, caller)
        dialog, expired = await dialogs.current(context.storage, caller.telegram_id, context.now())
        flow = flow_of(context, dialog.flow) if dialog is not None else None
        if dialog is not None and flow is not None and flow.on_text is not None:
            if not await closed_for(context, caller, dialog):
                await flow.on_text(update, context, dialog)
            return
        message = update.effective_message
        if message is not None and sounds_like_help(message.text or message.caption):
            # never taken as an answer to anything: the emergency number and /report first
            key = "fallback.help_member" if caller.member else "fallback.help_guest"
            await send(update, context, t(lang, key))
            return
        for answers in waiting:
            if await answers(update, context, caller):
                return
        if expired:
            await send(update, context, t(lang, "dialog.expired"))
            return
        # someone not registered may be answering the consent question, which keeps no state
        key = "fallback.member" if caller.member else "reg.tap_agree"
        await send(update, context, t(lang, key))

    return on_message
