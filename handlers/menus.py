"""Telegram's command menu per role and language (set_my_commands with scopes)."""

from __future__ import annotations

import logging

from telegram import (
    BotCommand,
    BotCommandScopeAllChatAdministrators,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
)
from telegram.error import TelegramError
from telegram.ext import ExtBot

from bot.i18n import LANGUAGES, t
from bot.menus import commands_for
from bot.roles.access import Caller

log = logging.getLogger(__name__)


def _commands(level: str, lang: str) -> list[BotCommand]:
    return [BotCommand(name, t(lang, f"cmd.{name}")) for name in commands_for(level)]


async def set_default_menus(bot: ExtBot[None], default_language: str) -> None:
    """What a person who has not registered sees in any private chat, per language."""
    scope = BotCommandScopeAllPrivateChats()
    try:
        await bot.set_my_commands(_commands("guest", default_language), scope=scope)
        for lang in LANGUAGES:
            await bot.set_my_commands(_commands("guest", lang), scope=scope, language_code=lang)
        admins = BotCommandScopeAllChatAdministrators()  # group admins: linking the group
        await bot.set_my_commands(_commands("group_admin", default_language), scope=admins)
        for lang in LANGUAGES:
            await bot.set_my_commands(
                _commands("group_admin", lang), scope=admins, language_code=lang
            )
    except TelegramError as exc:  # the menu is a convenience: never a reason not to start
        log.warning("could not set the default command menu: %s", exc)


async def refresh_menu(bot: ExtBot[None], caller: Caller, default_language: str) -> None:
    """The menu of one person's private chat, from their current role and language."""
    scope = BotCommandScopeChat(caller.telegram_id)
    try:
        level = caller.level
        if level == "guest":
            await bot.delete_my_commands(scope=scope)
        else:
            if level == "admin" and not caller.is_member:
                level = "admin_guest"
            lang = caller.language or default_language
            await bot.set_my_commands(_commands(level, lang), scope=scope)
    except TelegramError as exc:  # e.g. an admin who never opened the bot: chat not found
        log.warning("could not set the command menu for a chat: %s", exc)
