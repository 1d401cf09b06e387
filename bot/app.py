"""Assembly: everything `python -m bot` runs, built from Settings alone (tests build it the same way)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

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
from bot.deps import Deps
from bot.handlers import get_routers
from bot.handlers.account import KeyForm
from bot.handlers.confirm import ClaimMiddleware
from bot.handlers.screen import ScreenMiddleware, ScreenTracker
from bot.i18n import LocaleMiddleware, create_i18n
from bot.middlewares import (
    AccessMiddleware,
    KeyPasteGuard,
    KnownUserMiddleware,
    NotificationButtons,
    UserMiddleware,
)
from bot.services.background import BackgroundTasks, Heartbeat, every
from bot.services.balance import Balances
from bot.services.catalog import Catalog
from bot.services.expiry import ExpiryService
from bot.services.key_links import KeyLinks
from bot.services.locks import UserLocks
from bot.services.notifier import Notifier
from bot.services.order_actions import OrderActions
from bot.services.outbox import OutboxSender
from bot.services.payments import PaymentRecovery
from bot.services.poller import SmsPoller
from bot.services.renting import Renter
from bot.services.stored_keys import open_keybox, pause_undecryptable
from bot.services.watches import WatchService
from bot.smspva import SmspvaClient
from bot.smspva.transport import AiohttpTransport
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
    deps: Deps  # what handlers get; also how tests reach the repositories
    health: HealthCheck
    background: BackgroundTasks
    _stop: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def db(self) -> Database:
        return self.deps.db

    @property
    def poller(self) -> SmsPoller:
        return self.deps.poller

    @property
    def i18n(self) -> I18n:
        return self.deps.i18n

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
        await self.deps.smspva.aclose()
        await self.deps.db.close()
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
# On SIGTERM, confirmations in flight get this long to finish their money call and show the outcome
# (a call may take SMSPVA_TIMEOUT_SECONDS, 20 s by default, plus one `orders` look when unclear);
# whatever is still running then is reconciled at the next start. The orchestrator must wait longer
# before SIGKILL: docker-compose.yml gives stop_grace_period: 40s (Docker's default is 10 s).
MONEY_GRACE_SECONDS = 25.0
# How old a loop's last good round may get before /healthz answers 503. The outbox and the poller go
# round at least every few seconds; a round may wait on a hung Bot API or SMSPVA call (timeouts ~60 s).
LOOP_STALE_SECONDS = 120.0


def _prune(outbox: OutboxRepo) -> Callable[[], Awaitable[None]]:
    """Delivered messages older than 30 days go; the seen-set (sms_seen) stays, so nothing repeats."""

    async def step() -> None:
        removed = await outbox.prune()
        log.info("outbox pruned rows=%s", removed)

    return step


async def _confirmations_loop(
    payments: PaymentRecovery, confirmations: ConfirmationsRepo, heartbeat: Heartbeat
) -> None:
    # First the confirmations a stop or crash left `running` (a failure reruns it: the outcome pushes
    # carry a dedup key), then the retention prune of finished ones, like the outbox's.
    await payments.reconcile_running()

    async def prune() -> None:
        removed = await confirmations.prune()
        log.info("confirmations pruned rows=%s", removed)

    await every(OUTBOX_PRUNE_SECONDS, prune, heartbeat)


async def _expiry_loop(expiry: ExpiryService, seconds: float, heartbeat: Heartbeat) -> None:
    # A failure here (even in the start-up reconciliation) restarts the whole loop, reconciliation first.
    await expiry.reconcile_interrupted()
    await every(seconds, expiry.check_once, heartbeat)


def _add_loops(
    background: BackgroundTasks,
    settings: Settings,
    sender: OutboxSender,
    poller: SmsPoller,
    outbox: OutboxRepo,
    expiry: ExpiryService,
    watches: WatchService,
    payments: PaymentRecovery,
    confirmations: ConfirmationsRepo,
) -> None:
    def periodic(seconds: float) -> float:
        return 3 * seconds + LOOP_STALE_SECONDS  # a few missed rounds, each allowed to be slow

    background.add("outbox", sender.run, stale_after=LOOP_STALE_SECONDS, stop=sender.stop)
    background.add("poller", poller.run, stale_after=LOOP_STALE_SECONDS, stop=poller.stop)
    background.add(
        "outbox-prune",
        lambda beat: every(OUTBOX_PRUNE_SECONDS, _prune(outbox), beat),
        stale_after=periodic(OUTBOX_PRUNE_SECONDS),
    )
    background.add(
        "confirmations",
        lambda beat: _confirmations_loop(payments, confirmations, beat),
        stale_after=periodic(OUTBOX_PRUNE_SECONDS),
    )
    background.add(
        "expiry",
        lambda beat: _expiry_loop(expiry, settings.expiry_check_seconds, beat),
        stale_after=periodic(settings.expiry_check_seconds),
    )
    background.add(
        "watches",
        lambda beat: every(settings.watch_check_seconds, watches.check_once, beat),
        stale_after=periodic(settings.watch_check_seconds),
    )


async def create_app(settings: Settings) -> App:
    db = Database(settings.database_path)
    configured_secret = settings.secret_key.get_secret_value() if settings.secret_key else None
    if configured_secret:
        KeyBox(*load_secret_keys(configured_secret, Path()))  # a malformed SECRET_KEY fails before the db
    await db.connect()
    try:
        # The secret rule (bot/services/stored_keys.py): never a new secret beside stored keys, never
        # a start with a secret that opens none of them.
        keybox, undecryptable = await open_keybox(
            db, configured_secret, settings.database_path.parent / "secret.key"
        )
    except OSError as error:
        await db.close()
        raise StartupError(f"cannot read or create the secret key file: {error}") from error
    except BaseException:
        await db.close()
        raise
    users = UsersRepo(db, keybox, allowed=settings.allowed_user_ids)
    confirmations = ConfirmationsRepo(db)
    orders = OrdersRepo(db)
    choices = ChoicesRepo(db)
    smspva = SmspvaClient(
        settings.smspva_api_url,
        timeout=settings.smspva_timeout_seconds,
        min_interval=settings.smspva_min_interval_seconds,
        transport=AiohttpTransport(),  # httpx's interface, aiohttp's cheaper wire (bench/README.md)
    )
    catalog = Catalog(smspva)
    renter = Renter(smspva, confirmations, orders, choices)
    i18n = create_i18n()
    outbox = OutboxRepo(db, allowed=settings.allowed_user_ids)
    bot = Bot(
        token=settings.bot_token.get_secret_value(),
        session=AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_url)),
        default=DefaultBotProperties(parse_mode=ParseMode.HTML, link_preview_is_disabled=True),
    )
    sender = OutboxSender(bot, outbox, users)
    # The one way into a chat for everything unprompted.
    notifier = Notifier(
        outbox, sender, i18n, support_url=settings.support_url, top_up_url=settings.top_up_url
    )
    watches = WatchService(choices, users, catalog, notifier)
    poller = SmsPoller(
        smspva,
        users,
        orders,
        notifier,
        active_seconds=settings.poll_active_seconds,
        idle_seconds=settings.poll_idle_seconds,
    )
    key_links = KeyLinks(users, notifier)
    for user_id in undecryptable:
        await pause_undecryptable(users, notifier, user_id)
    expiry = ExpiryRepo(db)
    expiry_service = ExpiryService(
        smspva,
        users,
        orders,
        expiry,
        notifier,
        catalog,
        warn_hours=settings.expiry_warn_hours,
    )
    user_locks = UserLocks()
    payments = PaymentRecovery(smspva, confirmations, users, orders, renter, notifier, expiry, user_locks)
    deps = Deps(
        settings=settings,
        i18n=i18n,
        db=db,
        users=users,
        key_links=key_links,
        confirmations=confirmations,
        orders=orders,
        choices=choices,
        expiry=expiry,
        outbox=outbox,
        smspva=smspva,
        catalog=catalog,
        balances=Balances(smspva, settings.smspva_balance_url),
        renter=renter,
        order_actions=OrderActions(smspva, confirmations, orders, poke=poller.poke),
        user_locks=user_locks,
        payments=payments,
        sender=sender,
        notifier=notifier,
        poller=poller,
    )
    dp = Dispatcher(storage=MemoryStorage(), deps=deps)
    throttling = ThrottlingMiddleware(settings.throttle_per_minute)
    dp.callback_query.outer_middleware(NotificationButtons())  # before all: the rest sees plain data
    screens = ScreenTracker()  # a new screen takes the keyboard of the one before
    for observer in (dp.message, dp.callback_query):
        # Order matters. The saved row is read first (read only) for the locale. The throttle comes
        # before the ALLOWED_USER_IDS gate, so everyone (refused users too) is slowed alike, and the
        # gate before UserMiddleware, so a refused user leaves no row.
        observer.outer_middleware(KnownUserMiddleware(users))
        observer.outer_middleware(LocaleMiddleware(i18n))
        if observer is dp.message:  # before the throttle: a key must go even from a flooding user
            observer.outer_middleware(
                KeyPasteGuard(throttling, frozenset({KeyForm.waiting.state or ""}), users)
            )
        observer.outer_middleware(throttling)
        observer.outer_middleware(AccessMiddleware(settings.allowed_user_ids))
        observer.outer_middleware(UserMiddleware(users))
        observer.outer_middleware(ScreenMiddleware(screens))
    dp.callback_query.middleware(ClaimMiddleware())  # the one place a confirmation token is claimed
    dp.include_routers(*get_routers())
    lag_limit = max(60.0, 5 * settings.poll_idle_seconds)
    mode = "webhook" if settings.webhook_url else "polling"
    background = BackgroundTasks()
    _add_loops(background, settings, sender, poller, outbox, expiry_service, watches, payments, confirmations)
    app = App(
        settings=settings,
        bot=bot,
        dp=dp,
        deps=deps,
        health=health_check(db, poller, outbox, lag_limit, mode, background.heartbeats),
        background=background,
    )

    async def on_startup() -> None:
        await key_links.settle()  # before any update: every linked key has its hash
        await set_commands(bot, i18n)
        background.start()

    async def on_shutdown() -> None:
        # Updates have stopped coming; a confirmation in flight finishes its money call and shows the
        # outcome (the outbox sender still runs meanwhile), bounded so the orchestrator never SIGKILLs.
        if not await user_locks.wait_idle(MONEY_GRACE_SECONDS):
            log.warning("confirmations still running at shutdown; reconciled at the next start")
        await background.stop()

    dp.startup.register(on_startup)
    dp.shutdown.register(on_shutdown)
    return app
