"""Assembly: everything `python -m bot` runs, built from Settings alone (tests build it the same way)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramAPIError, TelegramNetworkError, TelegramUnauthorizedError
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.utils.i18n import I18n
from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import web

from bot.commands import set_commands
from bot.config import Settings
from bot.crypto import KeyBox, load_secret_keys
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
from bot.services.notifier import Notifier
from bot.services.order_actions import OrderActions
from bot.services.outbox import OutboxSender
from bot.services.poller import SmsPoller
from bot.services.renting import Renter
from bot.services.watches import WatchService
from bot.smspva import SmspvaClient
from bot.throttling import ThrottlingMiddleware
from bot.web import HealthCheck, add_health_route, health_check, webhook_path

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
    health: HealthCheck
    _stop: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def mode(self) -> str:
        return "webhook" if self.settings.webhook_url else "polling"

    async def _check_telegram(self) -> str:
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
        return me.username or str(me.id)

    async def serve(self, *, handle_signals: bool = True) -> None:
        """Check Telegram is reachable, then serve updates until SIGINT/SIGTERM or stop()."""
        username = await self._check_telegram()
        if self.settings.webhook_url:
            await self._serve_webhook(username, handle_signals)
        else:
            await self._serve_polling(username, handle_signals)

    async def _serve_polling(self, username: str, handle_signals: bool) -> None:
        log.info("starting long polling bot=@%s", username)
        health_runner = None
        if self.settings.health_port:
            web_app = web.Application()
            add_health_route(web_app, self.health)
            health_runner = await _start_site(web_app, self.settings.webhook_host, self.settings.health_port)
        await self.bot.delete_webhook(drop_pending_updates=False)
        try:
            await self.dp.start_polling(
                self.bot,
                handle_signals=handle_signals,
                allowed_updates=self.dp.resolve_used_update_types(),
            )
        finally:
            if health_runner is not None:
                await health_runner.cleanup()

    async def _serve_webhook(self, username: str, handle_signals: bool) -> None:
        assert self.settings.webhook_url
        assert self.settings.webhook_secret
        secret = self.settings.webhook_secret.get_secret_value()
        web_app = web.Application()
        SimpleRequestHandler(dispatcher=self.dp, bot=self.bot, secret_token=secret).register(
            web_app, path=webhook_path(self.settings.webhook_url)
        )
        add_health_route(web_app, self.health)
        setup_application(web_app, self.dp, bot=self.bot)  # dispatcher startup/shutdown with the server
        if handle_signals:
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(signum, self._stop.set)
        runner = await _start_site(web_app, self.settings.webhook_host, self.settings.webhook_port)
        try:
            await self.bot.set_webhook(
                self.settings.webhook_url,
                secret_token=secret,
                allowed_updates=self.dp.resolve_used_update_types(),
            )
            log.info("serving webhook bot=@%s port=%s", username, self.settings.webhook_port)
            await self._stop.wait()
        finally:
            await runner.cleanup()

    async def stop(self) -> None:
        """Stop serving (what SIGTERM does); in-flight work finishes or stays queued."""
        if self.settings.webhook_url:
            self._stop.set()
        else:
            with contextlib.suppress(RuntimeError):  # polling had not started yet
                await self.dp.stop_polling()

    async def close(self) -> None:
        await self.smspva.aclose()
        await self.db.close()
        await self.bot.session.close()


async def _start_site(web_app: web.Application, host: str, port: int) -> web.AppRunner:
    runner = web.AppRunner(web_app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError as error:
        await runner.cleanup()
        raise StartupError(f"cannot listen on {host}:{port}: {error.strerror}") from error
    return runner


OUTBOX_PRUNE_SECONDS = 6 * 3600


def _prune(outbox: OutboxRepo) -> Callable[[], Awaitable[None]]:
    """Delivered messages older than 30 days go; the seen-set (sms_seen) stays, so nothing repeats."""

    async def step() -> None:
        removed = await outbox.prune()
        log.info("outbox pruned rows=%s", removed)

    return step


async def _expiry_loop(expiry: ExpiryService, seconds: float) -> None:
    await expiry.reconcile_interrupted()
    await every(seconds, expiry.check_once, "expiry")


async def create_app(settings: Settings) -> App:
    db = Database(settings.database_path)
    try:
        keybox = KeyBox(
            *load_secret_keys(
                settings.secret_key.get_secret_value() if settings.secret_key else None,
                settings.database_path.parent / "secret.key",
            )
        )
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
    notifier = Notifier(outbox, sender, i18n)  # the one way into a chat for everything unprompted
    watches = WatchService(choices, users, catalog, notifier)
    poller = SmsPoller(
        smspva,
        users,
        orders_repo,
        notifier,
        active_seconds=settings.poll_active_seconds,
        idle_seconds=settings.poll_idle_seconds,
    )
    expiry_repo = ExpiryRepo(db)
    expiry = ExpiryService(
        smspva,
        users,
        orders_repo,
        expiry_repo,
        notifier,
        catalog,
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
    throttling = ThrottlingMiddleware(settings.throttle_per_minute)
    for observer in (dp.message, dp.callback_query):
        observer.outer_middleware(UserMiddleware(users))
        observer.outer_middleware(LocaleMiddleware(i18n))
        observer.outer_middleware(AccessMiddleware(settings.allowed_user_ids))
        observer.outer_middleware(throttling)
    dp.include_routers(*get_routers())
    lag_limit = max(60.0, 5 * settings.poll_idle_seconds)
    mode = "webhook" if settings.webhook_url else "polling"
    app = App(
        settings=settings,
        bot=bot,
        dp=dp,
        db=db,
        smspva=smspva,
        i18n=i18n,
        poller=poller,
        sender=sender,
        health=health_check(db, poller, outbox, lag_limit, mode),
    )

    background = BackgroundTasks()
    background.add("outbox", sender.run, stop=sender.stop)
    background.add("poller", poller.run, stop=poller.stop)
    background.add("outbox-prune", lambda: every(OUTBOX_PRUNE_SECONDS, _prune(outbox), "outbox-prune"))
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
