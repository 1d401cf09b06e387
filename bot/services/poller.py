"""Watches every linked user's orders and pushes each new SMS (and state change) to their chat.

Schedule. Each user has a phase (their id spread over the interval, so users are evenly spread and
never poll in a herd) and is polled every POLL_ACTIVE_SECONDS while an order is activating (2) or
active (1), or was rented or activated in the last 30 minutes; every POLL_IDLE_SECONDS otherwise.
Users with no live order at all are checked every DISCOVERY_SECONDS, only to notice numbers rented
on the website. One poll per user (so per key) is in flight at a time, and the client spaces calls
per key on top.

Which orders get an `sms` call. Rule chosen: at once when `hasnewsms` is set; and, as a safety
sweep, once per POLL_IDLE_SECONDS while the number is online (state 1) or went offline less than
two minutes ago. `hasnewsms` alone is not enough: another client (the web page) reading the SMS may
clear it before we look, and an SMS can only arrive while the number is online — the sweep catches
those. Reading `sms` on every 5-second poll of an online number would double the upstream cost of
always-active numbers (1,440 calls/h instead of about 830) for no gain in the common case.

Concurrency. A poll spends most of its time waiting: on SMSPVA, and on the client's per-key spacing
between its `orders` and `sms` calls (1 s by default) while it holds its slot, so up to 256 polls are
in flight. Starts are capped at MAX_POLLS_PER_SECOND (~1.7 ms of CPU per SMSPVA call): past that the
intervals stretch instead of the event loop saturating, so sending to Telegram and answering
button presses never starve.

Exactly once. Reading `sms` may clear `hasnewsms` upstream, so whatever is read goes into the outbox
and the seen-set in one transaction before anything else can fail; the outbox sender does the rest.
The first time an order is seen (not rented through the bot), its SMS are recorded as seen without
a push: only SMS arriving after that are new.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import heapq
import logging
import time
from dataclasses import dataclass, field

from aiogram.utils.i18n import I18n

from bot.crypto import UndecryptableKeyError
from bot.db.orders import OrdersRepo
from bot.db.outbox import NewMessage, OutboxRepo
from bot.db.users import UserRow, UsersRepo
from bot.i18n import user_locale
from bot.pushes import gone_notice, key_rejected_notice, offline_notice, online_notice, sms_message
from bot.services.background import Heartbeat
from bot.services.outbox import OutboxSender
from bot.services.stored_keys import pause_undecryptable
from bot.smspva import ErrorKind, Order, OrderState, Sms, SmspvaClient, SmspvaError, SmspvaUnavailable

log = logging.getLogger(__name__)

RECENT_ACTIVITY_SECONDS = 30 * 60
OFFLINE_GRACE_SECONDS = 120
DISCOVERY_SECONDS = 300.0
USERS_REFRESH_SECONDS = 5.0
MAX_BACKOFF_SECONDS = 300.0
MAX_POLLS_PER_SECOND = 100.0


def fingerprint(order_id: int, sms: Sms, *, other: bool) -> str:
    """An SMS is new when its (order id, date, sender, text) has not been seen."""
    raw = f"{'o' if other else 's'}|{order_id}|{sms.date}|{sms.sender}|{sms.text}"
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:24]


@dataclass(slots=True)
class _Known:
    state: int | None
    until: int | None
    sms_synced: bool
    offline_since: float | None = None
    sms_checked: float = 0.0  # monotonic time of the last `sms` call


@dataclass(slots=True)
class _UserState:
    apikey: str
    token: bytes
    phase: float
    next_due: float
    failures: int = 0
    loaded: bool = False
    orders: dict[int, _Known] = field(default_factory=dict)
    active_until: float = 0.0  # poll fast until then (recent rental / activation)


class SmsPoller:
    def __init__(
        self,
        client: SmspvaClient,
        users: UsersRepo,
        orders: OrdersRepo,
        outbox: OutboxRepo,
        sender: OutboxSender,
        i18n: I18n,
        *,
        active_seconds: float,
        idle_seconds: float,
        concurrency: int = 256,
    ) -> None:
        self._client = client
        self._users = users
        self._orders = orders
        self._outbox = outbox
        self._sender = sender
        self._i18n = i18n
        self._active = active_seconds
        self._idle = idle_seconds
        # Back off per key while SMSPVA fails, but never for longer than ten idle intervals.
        self._max_backoff = min(MAX_BACKOFF_SECONDS, 10 * idle_seconds)
        self._slots = asyncio.Semaphore(concurrency)
        self._state: dict[int, _UserState] = {}
        self._heap: list[tuple[float, int]] = []
        self._next_start = 0.0
        self._wake = asyncio.Event()
        self._inflight: dict[int, asyncio.Task[None]] = {}
        self._last_refresh = 0.0
        self._stopping = False
        self.polls = 0
        self.lag = 0.0  # how late the most recent poll started, seconds (health)

    # --- scheduling ---------------------------------------------------------------------------

    def _schedule(self, user_id: int, state: _UserState, due: float) -> None:
        # A heap with lazy invalidation: an entry counts only while it matches state.next_due.
        state.next_due = due
        heapq.heappush(self._heap, (due, user_id))
        self._wake.set()

    def poke(self, user_id: int) -> None:
        """Something just happened for this user (rental, activation, key linked): poll fast now."""
        self._last_refresh = 0.0  # a newly linked key is picked up at once
        state = self._state.get(user_id)
        if state is not None:
            state.active_until = time.monotonic() + RECENT_ACTIVITY_SECONDS
            if user_id not in self._inflight:
                self._schedule(user_id, state, time.monotonic())
        self._wake.set()

    async def _refresh_users(self) -> None:
        rows = await self._users.pollable()
        now = time.monotonic()
        current: set[int] = set()
        for user_id, token in rows:
            current.add(user_id)
            state = self._state.get(user_id)
            if state is not None and state.token == token:
                continue
            try:
                apikey = self._users.decrypt_key(token)
            except UndecryptableKeyError:  # paused and told once, so out of pollable(): never retried
                current.discard(user_id)
                if await pause_undecryptable(self._users, self._outbox, self._i18n, user_id):
                    self._sender.wake()
                continue
            # Spread users evenly over the interval (golden-ratio phases by id), never in a herd.
            phase = (user_id * 0.6180339887) % 1.0
            fresh = _UserState(apikey=apikey, token=token, phase=phase, next_due=now)
            if state is not None:  # key replaced: start over with it, now
                fresh.active_until = state.active_until
            self._state[user_id] = fresh
            self._schedule(user_id, fresh, now if state is not None else now + phase * self._active)
        for gone in set(self._state) - current:
            del self._state[gone]
        self._last_refresh = now

    async def run(self, heartbeat: Heartbeat | None = None) -> None:
        while not self._stopping:
            if heartbeat is not None:
                heartbeat.beat()  # a round of the scheduler: /healthz sees a hung or crashed poller
            now = time.monotonic()
            if now - self._last_refresh >= USERS_REFRESH_SECONDS:
                try:
                    await self._refresh_users()
                except Exception:  # the next round tries again; polling goes on meanwhile
                    log.exception("poller could not refresh users")
            while self._heap and self._heap[0][0] <= now and not self._stopping:
                due, user_id = heapq.heappop(self._heap)
                state = self._state.get(user_id)
                if state is None or state.next_due != due or user_id in self._inflight:
                    continue
                await self._slots.acquire()  # backpressure: at most `concurrency` polls at once
                gap = self._next_start - time.monotonic()
                if gap > 0:
                    await asyncio.sleep(gap)
                self._next_start = max(time.monotonic(), self._next_start) + 1.0 / MAX_POLLS_PER_SECOND
                self.lag = max(0.0, time.monotonic() - due)
                self._inflight[user_id] = asyncio.create_task(
                    self._poll(user_id, state), name=f"poll-{user_id}"
                )
            wait = self._heap[0][0] - time.monotonic() if self._heap else USERS_REFRESH_SECONDS
            wait = min(
                max(wait, 0.0),
                USERS_REFRESH_SECONDS,
                max(0.0, self._last_refresh + USERS_REFRESH_SECONDS - now),
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), max(wait, 0.005))
            self._wake.clear()

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        tasks = list(self._inflight.values())
        if tasks:
            _done, pending = await asyncio.wait(tasks, timeout=10)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    def _interval(self, state: _UserState) -> float:
        now = time.monotonic()
        if now < state.active_until:
            return self._active
        if not state.orders:
            return DISCOVERY_SECONDS
        for known in state.orders.values():
            if known.state in (OrderState.ACTIVE, OrderState.ACTIVATING):
                return self._active
            if known.offline_since is not None and now - known.offline_since < OFFLINE_GRACE_SECONDS:
                return self._active
        return self._idle

    async def _poll(self, user_id: int, state: _UserState) -> None:
        started = time.monotonic()
        next_due: float | None = None
        try:
            await self._poll_user(user_id, state)
            state.failures = 0
            interval = self._interval(state)
            # Keep the user's phase: the next poll is one interval after this one was due (but never
            # in the past, when polls run late under load).
            next_due = max(state.next_due + interval, started + min(interval, self._active))
        except SmspvaUnavailable:
            state.failures += 1
            delay = min(self._max_backoff, self._active * 2 ** min(state.failures, 10))
            next_due = time.monotonic() + delay
            log.info("smspva unavailable, backing off user_id=%s delay=%.0f", user_id, delay)
        except SmspvaError as error:
            if error.kind is ErrorKind.AUTH:
                await self._key_rejected(user_id)
            else:
                state.failures += 1
                next_due = time.monotonic() + min(self._max_backoff, self._idle * state.failures)
                log.info("orders refused user_id=%s kind=%s", user_id, error.kind)
        except Exception:
            next_due = time.monotonic() + self._idle
            log.exception("poll failed user_id=%s", user_id)
        finally:
            self.polls += 1
            self._inflight.pop(user_id, None)
            self._slots.release()
            if next_due is not None and self._state.get(user_id) is state:
                self._schedule(user_id, state, next_due)

    async def _key_rejected(self, user_id: int) -> None:
        self._state.pop(user_id, None)
        if not await self._users.mark_key_invalid(user_id):
            return
        user = await self._users.get(user_id)
        if user is None:
            return
        with self._i18n.context(), self._i18n.use_locale(user_locale(user)):
            text, markup = key_rejected_notice()
        await self._outbox.enqueue(NewMessage(user_id=user_id, kind="key", text=text, markup=markup))
        self._sender.wake()
        log.info("api key rejected, polling paused user_id=%s", user_id)

    # --- one poll -----------------------------------------------------------------------------

    async def _load(self, user_id: int, state: _UserState) -> None:
        for row in await self._orders.for_user(user_id):
            state.orders[row.id] = _Known(state=row.state, until=row.until, sms_synced=row.sms_synced)
            if row.rented_at and time.time() - row.rented_at < RECENT_ACTIVITY_SECONDS:
                state.active_until = time.monotonic() + RECENT_ACTIVITY_SECONDS
        state.loaded = True

    async def _poll_user(self, user_id: int, state: _UserState) -> None:
        if not state.loaded:
            await self._load(user_id, state)
        orders = await self._client.orders(state.apikey)
        user: UserRow | None = None
        queued = 0
        live_ids = {order.id for order in orders}
        for order in orders:
            known = state.orders.get(order.id)
            if known is None:
                known = _Known(state=None, until=None, sms_synced=False)
                state.orders[order.id] = known
            if known.state != order.state or known.until != order.until:
                user = user or await self._users.get(user_id)
                if user is not None and known.state is not None:
                    queued += await self._state_notice(user, order, known.state)
                await self._orders.upsert_seen(user_id, order)
                if known.state == OrderState.ACTIVE and order.state != OrderState.ACTIVE:
                    known.offline_since = time.monotonic()
                known.state, known.until = order.state, order.until
            if self._wants_sms(order, known):
                user = user or await self._users.get(user_id)
                if user is not None:
                    queued += await self._fetch_sms(user, state.apikey, order, known)
        gone = [order_id for order_id in state.orders if order_id not in live_ids]
        if gone:
            await self._orders.mark_gone(gone)
            for order_id in gone:
                del state.orders[order_id]
        if queued:
            self._sender.wake()

    def _wants_sms(self, order: Order, known: _Known) -> bool:
        if not known.sms_synced or order.hasnewsms:
            return True  # the baseline, or SMSPVA says there is something new
        now = time.monotonic()
        online = order.state == OrderState.ACTIVE
        just_offline = known.offline_since is not None and now - known.offline_since < OFFLINE_GRACE_SECONDS
        return (online or just_offline) and now - known.sms_checked >= self._idle

    async def _fetch_sms(self, user: UserRow, apikey: str, order: Order, known: _Known) -> int:
        batch = await self._client.sms(apikey, order.id)
        known.sms_checked = time.monotonic()
        entries = [(sms, False) for sms in batch.sms] + [(sms, True) for sms in batch.other]
        if not known.sms_synced:
            await self._outbox.enqueue_sms(
                [], [(order.id, fingerprint(order.id, s, other=o)) for s, o in entries]
            )
            await self._orders.set_sms_synced(order.id)
            known.sms_synced = True
            return 0
        seen = await self._outbox.seen_fingerprints(order.id)
        fresh = [(s, o, fingerprint(order.id, s, other=o)) for s, o in entries]
        fresh = [item for item in fresh if item[2] not in seen]
        if not fresh:
            return 0
        messages: list[NewMessage] = []
        with self._i18n.context(), self._i18n.use_locale(user_locale(user)):
            for sms, other, print_ in sorted(fresh, key=lambda item: item[0].date or 0):
                if other and not user.other_sms:
                    continue  # switched off in Settings: recorded as seen, not pushed
                text, markup = sms_message(order, sms, user.timezone, other_service=other)
                messages.append(
                    NewMessage(
                        user_id=user.id,
                        kind="sms",
                        text=text,
                        markup=markup,
                        dedup_key=f"sms:{order.id}:{print_}",
                        created_at=time.time(),
                    )
                )
        added = await self._outbox.enqueue_sms(messages, [(order.id, item[2]) for item in fresh])
        log.info("sms queued user_id=%s order_id=%s count=%s", user.id, order.id, added)
        return added

    async def _state_notice(self, user: UserRow, order: Order, previous: int) -> int:
        with self._i18n.context(), self._i18n.use_locale(user_locale(user)):
            if previous == OrderState.ACTIVATING and order.state == OrderState.ACTIVE:
                kind, (text, markup) = "online", online_notice(order)
            elif previous == OrderState.ACTIVE and order.state == OrderState.NOT_ACTIVE:
                kind, (text, markup) = "offline", offline_notice(order)
            elif order.state == OrderState.NOT_IN_SYSTEM and previous != OrderState.NOT_IN_SYSTEM:
                kind, (text, markup) = "gone", gone_notice(order)
            else:
                return 0
        added = await self._outbox.enqueue(
            NewMessage(
                user_id=user.id, kind=f"state:{kind}", text=text, markup=markup, created_at=time.time()
            )
        )
        return int(added)
