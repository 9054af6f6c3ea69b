"""build_application: the one place where handlers, jobs and hooks are registered, in order."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from telegram import Update
from telegram.constants import ParseMode
from telegram.ext import (
    Application,
    ApplicationBuilder,
    BaseHandler,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
    Defaults,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.request import BaseRequest, HTTPXRequest

from bot.incidents.report import Quota
from bot.regions import load_regions, load_topics
from bot.roles.access import identify
from bot.roles.revocation import forget_dropped_admins
from bot.runtime.context import BotApp, BotContext, BotData
from bot.runtime.delivery import DeliveryEngine
from bot.runtime.errors import on_error
from bot.runtime.inbox import InboxRequest
from bot.runtime.jobs import SWEEPS, heartbeat, run_sweep
from bot.runtime.ratelimit import BotRateLimiter
from bot.settings import Settings
from handlers import admin, broadcast, dialog, evaluations, groups, guard, guide
from handlers.dialog import Flow
from handlers.events import answers as event_answers
from handlers.events import create as event_create
from handlers.events import links as event_links
from handlers.events import lists as event_lists
from handlers.events import manage as event_manage
from handlers.incidents import card as incident_card
from handlers.incidents import fast as incident_fast
from handlers.incidents import lists as incident_lists
from handlers.incidents import report as incident_report
from handlers.incidents import status as incident_status
from handlers.members import approvals, drafts, profile, registration
from handlers.menus import refresh_menu, set_default_menus
from storage.db import Storage
from storage.dialogs import VOLATILE_FLOWS

PRIVATE = filters.ChatType.PRIVATE
NEW_MESSAGE = filters.UpdateType.MESSAGE  # edits of old messages are not answers


def _command(name: str, callback: Any) -> CommandHandler[BotContext, None]:
    return CommandHandler(name, callback, filters=NEW_MESSAGE)


def flows() -> list[Flow]:
    """Every dialogue of the bot, one record each (handlers/dialog.py)."""
    return [
        registration.REG_FLOW,
        registration.SET_FLOW,
        event_create.FLOW,
        event_manage.FLOW,
        broadcast.FLOW,
        incident_report.FLOW,
        incident_card.FLOW,
        incident_status.FLOW,
        incident_fast.FLOW,
        evaluations.FLOW,
    ]


def build_application(
    settings: Settings,
    *,
    storage: Storage | None = None,
    request: BaseRequest | None = None,
    clock: Callable[[], datetime] | None = None,
    start_delivery: bool = True,
) -> BotApp:
    """The bot: settings and storage on its data, every flow, handler and job registered."""
    app = _application(settings, request)
    data = app.bot_data
    data.settings = settings
    data.regions = load_regions(settings.regions_file)
    data.topics = load_topics()
    if clock is not None:
        data.clock = clock
    if storage is not None:
        data.storage = storage
    data.start_delivery = start_delivery
    data.report_quota = Quota(settings.reports_per_hour)
    data.flood = Quota(settings.flood_per_minute, timedelta(minutes=1))

    for flow in flows():
        assert flow.name not in data.flows, flow.name
        data.flows[flow.name] = flow
    # what a flow says it keeps in memory only is what storage keeps in memory only
    assert {f.name for f in data.flows.values() if f.volatile} == VOLATILE_FLOWS
    data.link_handlers = {
        "event": event_links.open_event_link,
        "checkin": event_links.check_in_link,
    }
    app.add_handlers(update_handlers())
    # first and last for every update: repeated updates and floods stop before any handler
    app.add_handler(TypeHandler(Update, guard.before_update), group=-1)
    app.add_handler(TypeHandler(Update, guard.after_update), group=1)
    app.add_error_handler(on_error)

    _schedule(app, settings)
    return app


def _schedule(app: BotApp, settings: Settings) -> None:
    """The clock's jobs: the sweeps (bot/runtime/jobs.py) and the heartbeat."""
    assert app.job_queue is not None
    for sweep in SWEEPS:
        interval = sweep.interval or settings.sweep_interval_seconds
        app.job_queue.run_repeating(
            run_sweep, interval=interval, first=sweep.first, name=sweep.name, data=sweep
        )
    app.job_queue.run_repeating(
        heartbeat, interval=settings.heartbeat_minutes * 60, first=60, name="heartbeat"
    )


def _application(settings: Settings, request: BaseRequest | None) -> BotApp:
    """PTB's application: our context types, HTML by default, the limiter, one update at a
    time, and the inbox (bot/runtime/inbox.py) as the getUpdates request."""
    builder = (
        ApplicationBuilder()
        .token(settings.bot_token.get_secret_value())
        .base_url(settings.bot_api_base_url)
        .base_file_url(settings.bot_api_base_file_url)
        .context_types(ContextTypes(context=BotContext, bot_data=BotData))
        .defaults(Defaults(parse_mode=ParseMode.HTML, link_preview_options=None))
        .rate_limiter(BotRateLimiter(settings.max_messages_per_second))
        .concurrent_updates(False)
        .post_init(_post_init)
        .post_stop(_post_stop)
        .post_shutdown(_post_shutdown)
    )
    if request is not None:
        builder = builder.request(request)
    else:  # the outbox sends up to DELIVERY_WORKERS at once, replies go beside them
        builder = builder.connection_pool_size(settings.delivery_workers + 8).pool_timeout(10)
    inbox = InboxRequest(request or HTTPXRequest(connection_pool_size=1))
    app: BotApp = builder.get_updates_request(inbox).build()  # type: ignore[assignment]
    inbox.bot_data = app.bot_data
    return app


def update_handlers() -> list[BaseHandler[Any, Any, Any]]:
    """Every command, button prefix and message kind, in the order PTB tries them."""
    # long: one line per handler; the table reads better whole than cut into parts
    return [
        # members
        _command("start", registration.start_registration),
        _command("help", profile.show_help),
        _command("cancel", profile.cancel),
        _command("me", profile.show_profile),
        _command("settings", registration.open_settings),
        _command("mydata", profile.send_my_data),
        _command("events", event_lists.list_events),
        _command("forget", profile.ask_forget),
        _command("report", incident_report.start_report),
        _command("status", incident_status.show_status),
        # coordinators
        _command("new_event", event_create.new_event),
        _command("event", event_manage.show_event_admin),
        _command("broadcast", broadcast.start_broadcast),
        _command("link_region", groups.link_group),
        _command("unlink_region", groups.unlink_group),
        _command("incidents", incident_lists.list_incidents),
        _command("incident", incident_card.show_incident),
        _command("export_incidents", incident_lists.export),
        _command("evaluation", evaluations.show_evaluation),
        _command("evaluations", evaluations.compare_evaluations),
        _command("signup_link", approvals.signup_link),
        _command("guide", guide.show_guide),
        # admins
        _command("invite_coordinator", admin.invite_coordinator),
        _command("coordinators", admin.list_coordinators),
        _command("revoke", admin.ask_revoke),
        _command("members", admin.show_members),
        _command("stats", admin.show_stats),
        # buttons
        CallbackQueryHandler(drafts.resume_registration, pattern=drafts.RESUME_PATTERN),
        CallbackQueryHandler(registration.press_button, pattern=registration.CALLBACK_PATTERN),
        CallbackQueryHandler(dialog.press_dialog_button, pattern=r"^dlg:"),
        CallbackQueryHandler(event_create.press_button, pattern=event_create.CALLBACK_PATTERN),
        CallbackQueryHandler(event_answers.press_answer, pattern=event_answers.ANSWER_PATTERN),
        CallbackQueryHandler(event_manage.press_manage, pattern=event_manage.MANAGE_PATTERN),
        CallbackQueryHandler(event_lists.turn_events_page, pattern=event_lists.LIST_PATTERN),
        CallbackQueryHandler(broadcast.press_button, pattern=broadcast.CALLBACK_PATTERN),
        CallbackQueryHandler(incident_report.press_button, pattern=incident_report.REPORT_PATTERN),
        CallbackQueryHandler(incident_fast.press_extra, pattern=incident_fast.EXTRAS_PATTERN),
        CallbackQueryHandler(incident_card.press_card, pattern=incident_card.CARD_PATTERN),
        CallbackQueryHandler(incident_status.press_status, pattern=incident_status.STATUS_PATTERN),
        CallbackQueryHandler(incident_lists.press_list, pattern=incident_lists.LIST_PATTERN),
        CallbackQueryHandler(evaluations.press_answer, pattern=evaluations.ANSWER_PATTERN),
        CallbackQueryHandler(evaluations.press_report, pattern=evaluations.REPORT_PATTERN),
        CallbackQueryHandler(evaluations.press_compare, pattern=evaluations.COMPARE_PATTERN),
        CallbackQueryHandler(guide.press_guide, pattern=guide.CALLBACK_PATTERN),
        CallbackQueryHandler(profile.confirm_forget, pattern=profile.FORGET_PATTERN),
        CallbackQueryHandler(admin.press_revoke, pattern=admin.PICK.pattern),
        CallbackQueryHandler(approvals.press_approval, pattern=approvals.CALLBACK_PATTERN),
        CallbackQueryHandler(profile.unknown_button),
        # everything else in a private chat
        MessageHandler(NEW_MESSAGE & PRIVATE & filters.COMMAND, profile.unknown_command),
        MessageHandler(
            NEW_MESSAGE & PRIVATE & ~filters.COMMAND & ~filters.StatusUpdate.ALL,
            dialog.route_text([evaluations.typed_without_dialogue]),
        ),
        ChatMemberHandler(groups.track_membership, ChatMemberHandler.MY_CHAT_MEMBER),
        MessageHandler(filters.StatusUpdate.MIGRATE, groups.group_migrated),
    ]


async def _post_init(app: Application) -> None:  # type: ignore[type-arg]
    data: BotData = app.bot_data
    assert data.settings is not None
    settings = data.settings
    if data._storage is None:
        data.storage = await Storage.open(settings.database_path)
        data.owns_storage = True
    data.bot_username = app.bot.username
    await forget_dropped_admins(data.storage, settings, data.clock())
    data.delivery = DeliveryEngine(
        data.storage,
        app.bot,
        data.clock,
        workers=settings.delivery_workers,
        paid_broadcast=settings.allow_paid_broadcast,
    )
    if data.start_delivery:
        await data.delivery.start()
    await set_default_menus(app.bot, settings.default_language)
    for admin_id in sorted(settings.admin_ids):
        caller = await identify(data.storage, settings, admin_id)
        await refresh_menu(app.bot, caller, settings.default_language)


async def _post_stop(app: Application) -> None:  # type: ignore[type-arg]
    data: BotData = app.bot_data
    if data.delivery is not None:
        await data.delivery.stop()


async def _post_shutdown(app: Application) -> None:  # type: ignore[type-arg]
    await _post_stop(app)
    data: BotData = app.bot_data
    if data.owns_storage and data._storage is not None:
        await data.storage.close()
        data.storage = None


ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY, Update.MY_CHAT_MEMBER]
