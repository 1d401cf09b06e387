"""Assembly: everything `python -m bot` runs, built from Settings alone (tests build it the same way)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramAPIError, TelegramNetworkError, TelegramUnauthorizedError
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.utils.i18n import I18n

from bot.commands import set_commands
from bot.config import Settings
from bot.crypto import KeyBox, load_secret_key
from bot.db import Database, UsersRepo
from bot.db.choices import ChoicesRepo
from bot.db.confirmations import ConfirmationsRepo
from bot.db.expiry import ExpiryRepo
from bot.db.orders import OrdersRepo
from bot.db.outbox import OutboxRepo
from bot.handlers import get_routers
from bot.i18n import LocaleMiddleware, create_i18n
from bot.middlewares import AccessMiddleware, UserMiddleware
from bot.services.background import BackgroundTasks, every
from bot.services.catalog import Catalog
from bot.services.expiry import ExpiryService
from bot.services.locks import UserLocks
from bot.services.order_actions import OrderActions
from bot.services.outbox import OutboxSender
from bot.services.poller import SmsPoller
from bot.services.renting import Renter
from bot.services.watches import WatchService
from bot.smspva import SmspvaClient

log = logging.getLogger(__name__)


class StartupError(RuntimeError):
    """A condition that stops the bot from starting; the message is meant for an operator."""


@dataclass
class App:
    settings: Settings
    bot: Bot
    dp: Dispatcher
    db: Database
    smspva: SmspvaClient
    i18n: I18n
    poller: SmsPoller
    sender: OutboxSender
    extras: dict[str, Any] = field(default_factory=dict)

    async def serve(self, *, handle_signals: bool = True) -> None:
        """Check Telegram is reachable, then long-poll until stopped (SIGINT/SIGTERM or stop())."""
        try:
            me = await self.bot.get_me()
        except TelegramUnauthorizedError as error:
            raise StartupError("Telegram rejected BOT_TOKEN (401 Unauthorized)") from error
        except TelegramNetworkError as error:
            raise StartupError(
                f"cannot reach the Telegram Bot API at {self.settings.telegram_api_url}: {error.message}"
            ) from error
        except TelegramAPIError as error:
            raise StartupError(f"Telegram answered getMe with an error: {error.message}") from error
        log.info("starting long polling bot=@%s", me.username)
        await self.bot.delete_webhook(drop_pending_updates=False)
        await self.dp.start_polling(
            self.bot,
            handle_signals=handle_signals,
            allowed_updates=self.dp.resolve_used_update_types(),
        )

    async def close(self) -> None:
        await self.smspva.aclose()
        await self.db.close()
        await self.bot.session.close()


async def _expiry_loop(expiry: ExpiryService, seconds: float) -> None:
    await expiry.reconcile_interrupted()
    await every(seconds, expiry.check_once, "expiry")


async def create_app(settings: Settings) -> App:
    db = Database(settings.database_path)
    try:
        secret = load_secret_key(
            settings.secret_key.get_secret_value() if settings.secret_key else None,
            settings.database_path.parent / "secret.key",
        )
        keybox = KeyBox(secret)
    except OSError as error:
        raise StartupError(f"cannot read or create the secret key file: {error}") from error
    await db.connect()
    users = UsersRepo(db, keybox)
    confirmations = ConfirmationsRepo(db)
    orders_repo = OrdersRepo(db)
    choices = ChoicesRepo(db)
    smspva = SmspvaClient(
        settings.smspva_api_url,
        timeout=settings.smspva_timeout_seconds,
        min_interval=settings.smspva_min_interval_seconds,
    )
    catalog = Catalog(smspva)
    renter = Renter(smspva, confirmations, orders_repo, choices)
    i18n = create_i18n()
    outbox = OutboxRepo(db)
    bot = Bot(
        token=settings.bot_token.get_secret_value(),
        session=AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_url)),
        default=DefaultBotProperties(parse_mode=ParseMode.HTML, link_preview_is_disabled=True),
    )
    sender = OutboxSender(bot, outbox, users)
    watches = WatchService(choices, users, catalog, outbox, sender, i18n)
    poller = SmsPoller(
        smspva,
        users,
        orders_repo,
        outbox,
        sender,
        i18n,
        active_seconds=settings.poll_active_seconds,
        idle_seconds=settings.poll_idle_seconds,
    )
    expiry_repo = ExpiryRepo(db)
    expiry = ExpiryService(
        smspva,
        users,
        orders_repo,
        expiry_repo,
        outbox,
        sender,
        catalog,
        i18n,
        warn_hours=settings.expiry_warn_hours,
    )
    dp = Dispatcher(
        storage=MemoryStorage(),
        settings=settings,
        db=db,
        users=users,
        smspva=smspva,
        keybox=keybox,
        confirmations=confirmations,
        orders_repo=orders_repo,
        choices=choices,
        catalog=catalog,
        renter=renter,
        user_locks=UserLocks(),
        outbox=outbox,
        sender=sender,
        poller=poller,
        auto_prolong_repo=expiry_repo,
        order_actions=OrderActions(smspva, confirmations, orders_repo),
        i18n=i18n,
    )
    for observer in (dp.message, dp.callback_query):
        observer.outer_middleware(UserMiddleware(users))
        observer.outer_middleware(LocaleMiddleware(i18n))
        observer.outer_middleware(AccessMiddleware(settings.allowed_user_ids))
    dp.include_routers(*get_routers())
    app = App(
        settings=settings, bot=bot, dp=dp, db=db, smspva=smspva, i18n=i18n, poller=poller, sender=sender
    )

    background = BackgroundTasks()
    background.add("outbox", sender.run, stop=sender.stop)
    background.add("poller", poller.run, stop=poller.stop)
    background.add("expiry", lambda: _expiry_loop(expiry, settings.expiry_check_seconds))
    background.add("watches", lambda: every(settings.watch_check_seconds, watches.check_once, "watches"))

    async def on_startup() -> None:
        await set_commands(bot, i18n)
        background.start()

    async def on_shutdown() -> None:
        await background.stop()

    dp.startup.register(on_startup)
    dp.shutdown.register(on_shutdown)
    return app
