"""Watches every linked user's orders and pushes each new SMS (and state change) to their chat.

Schedule. One schedule per user (so per key). While a number is online (state 1) the call that
catches its SMS is `sms`: the key makes an `sms` tick every SMS_GAP_FACTOR x POLL_ACTIVE_SECONDS
(4.7 s at 5), round robin over its online numbers and never faster than the key's current pace
(`SmspvaClient.spacing`, wider after a rate-limit rejection): n numbers are each read every
max(4.7 s, n x pace). `orders` (states, `hasnewsms`, new numbers) then runs every
ONLINE_ORDERS_IDLE_FACTOR x POLL_IDLE_SECONDS (90 s), between two ticks when the pace leaves room:
766 + 40 = 806 calls per online number-hour, no more than the 810 of the schedule before (`orders`
every 5 s plus a 30-s `sms` sweep), for a p95 latency under 5 s instead of ~6. Without an online
number, `orders` runs every POLL_ACTIVE_SECONDS while an order is activating (2) or went offline in
the last two minutes, or was rented or activated in the last 30 minutes; every POLL_IDLE_SECONDS
otherwise. Users with no live order at all are checked every DISCOVERY_SECONDS, only to notice
numbers rented on the website. Each user has a phase (their id spread over the interval), so users
never poll in a herd. One call per key is in flight at a time, and the client spaces calls per key.

Which orders get an `sms` call in an `orders` round: at once when `hasnewsms` is set on an order that
is not online (online ones are read by their ticks); once per POLL_IDLE_SECONDS while the number
went offline less than two minutes ago; and once for every order when the poller (re)starts watching
a user (after a restart or a key pause, SMS may have come and been read elsewhere). `hasnewsms` alone
is not enough: another client (the web page) reading the SMS may clear it before we look. A refused
or failing `sms` call backs off that order only; the user's other orders go on.

Concurrency. A poll spends most of its time waiting: on SMSPVA, and on the client's per-key spacing
between its `orders` and `sms` calls (1 s by default) while it holds its slot, so up to 256 polls are
in flight. Starts are spaced only when the event loop falls behind (its lag measured every 0.1 s
above LAG_TARGET_SECONDS): then the intervals stretch instead of the loop saturating, so sending to
Telegram and answering button presses never starve; when it keeps up, nothing is capped.

Every SMS once. Reading `sms` may clear `hasnewsms` upstream, so whatever is read goes into the outbox
and the seen-set in one transaction (through the Notifier); when that write fails the order owes a
read and is read again next round. What the bot knows about an order — when it first listed it,
whether its first read is done, the last state acted on, since when it is missing — lives in the
database (user_orders); memory only holds timers.

First sight. An SMS is old (recorded as seen, not pushed) only if it was there before the bot knew
the order: its date is earlier than the moment the bot first listed the order, less
SKEW_TOLERANCE_SECONDS for the clocks of SMSPVA and this machine. Orders rented through the bot are
never old. An SMS without a date found by the very first read, within FIRST_READ_WINDOW_SECONDS of
first sight, is taken as old; any later undated SMS is new. A date given as a string without a zone
counts as no date here: read as UTC, it may be hours off if SMSPVA wrote it in another zone.

Gone. An order missing from `orders` is gone only after GONE_AFTER_POLLS answers over at least
GONE_AFTER_SECONDS: one answer that leaves it out (an upstream glitch, an item the parser skipped)
changes nothing, and when it comes back it is the same order with the same first sight.

Key pause. SMSPVA rejecting the key pauses the user (pushes, warnings, auto-prolong) with one
notice; the key is re-checked KEY_RECHECK_OFFSETS after the pause (1, 5, 30 minutes, then hourly
for a day, then daily) and the user is resumed, with one notice, the first time it works.
"""

from __future__ import annotations

import asyncio
import hashlib
import heapq
import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import aiosqlite

from bot.crypto import UndecryptableKeyError
from bot.db.orders import OrdersRepo, UserOrder
from bot.db.outbox import NewMessage
from bot.db.users import UserRow, UsersRepo
from bot.pushes import (
    Push,
    gone_notice,
    key_rejected_notice,
    key_resumed_notice,
    offline_notice,
    online_notice,
    sms_pushes,
)
from bot.services.background import Heartbeat
from bot.services.notifier import Notifier
from bot.services.stored_keys import pause_undecryptable
from bot.smspva import ErrorKind, Order, OrderState, Sms, SmspvaClient, SmspvaError, SmspvaUnavailable

log = logging.getLogger(__name__)

RECENT_ACTIVITY_SECONDS = 30 * 60
OFFLINE_GRACE_SECONDS = 120
DISCOVERY_SECONDS = 300.0
USERS_REFRESH_SECONDS = 5.0
MAX_BACKOFF_SECONDS = 300.0
# Poll starts are spaced only while the event loop lags (measured every LAG_PROBE_SECONDS): above
# LAG_TARGET_SECONDS the spacing grows (x1.5, up to MAX_START_GAP_SECONDS), below half of it it
# shrinks (x0.7) back to none. No constant cap: an idle loop starts every poll that is due.
LAG_PROBE_SECONDS = 0.1
LAG_TARGET_SECONDS = 0.05
MAX_START_GAP_SECONDS = 0.05
# An online number's `sms` is read every SMS_GAP_FACTOR x POLL_ACTIVE_SECONDS (4.7 s at 5: an SMS
# waits 0-4.7 s for its read, p95 under 5 s with sending), and `orders` then runs every
# ONLINE_ORDERS_IDLE_FACTOR x POLL_IDLE_SECONDS (90 s at 30): 766 + 40 = 806 calls per online
# number-hour, no more than the 810 of `orders` every 5 s plus a 30-s `sms` sweep.
SMS_GAP_FACTOR = 0.94
ONLINE_ORDERS_IDLE_FACTOR = 3.0
# Assumption: SMSPVA's clock and ours differ by less than this (NTP-synced servers differ by far
# less; minutes cover a badly kept clock). An SMS within it of first sight is pushed: better an SMS
# the user saw on the web page a minute before linking the key than a lost one.
SKEW_TOLERANCE_SECONDS = 600
FIRST_READ_WINDOW_SECONDS = 60
GONE_AFTER_POLLS = 3
GONE_AFTER_SECONDS = 180
KEY_RECHECK_OFFSETS: tuple[float, ...] = (60.0, 300.0, 1800.0, *(3600.0 * h for h in range(1, 25)))
KEY_RECHECK_DAILY = 86400.0


def fingerprint(order_id: int, sms: Sms, *, repeat: int = 1) -> str:
    """An SMS is new when its (order id, date, sender, text) has not been seen; a missing date or
    sender counts as empty, and the n-th identical item of one list of an answer gets `#n` (two
    equal undated texts are two SMS). Which list it came in (own service or OtherSms) is left out:
    SMSPVA may move an SMS from OtherSms to the order's own list once its service is added to the
    order, and it is still the same SMS."""
    date = "" if sms.date is None else sms.date
    raw = f"{order_id}|{date}|{sms.sender or ''}|{sms.text}"
    if repeat > 1:
        raw += f"#{repeat}"
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:24]


def legacy_fingerprint(order_id: int, sms: Sms, *, other: bool, repeat: int = 1) -> str:
    """The fingerprint stored before the list was left out (it began with `s|` or `o|`). Stored
    fingerprints are one-way hashes, so they cannot be migrated: an SMS counts as seen when its
    fingerprint OR either legacy form is stored, and only the new form is written from now on.
    Without this, every SMS seen before the upgrade would be pushed again."""
    date = "" if sms.date is None else sms.date
    raw = f"{'o' if other else 's'}|{order_id}|{date}|{sms.sender or ''}|{sms.text}"
    if repeat > 1:
        raw += f"#{repeat}"
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:24]


def _repeats(entries: Sequence[tuple[Sms, bool]]) -> list[int]:
    """The n of each item among identical items of the same list (own / other) of one answer."""
    counts: Counter[tuple[bool, int | None, str, str]] = Counter()
    repeats: list[int] = []
    for sms, other in entries:
        key = (other, sms.date, sms.sender or "", sms.text)
        counts[key] += 1
        repeats.append(counts[key])
    return repeats


def fingerprints(order_id: int, entries: Sequence[tuple[Sms, bool]]) -> list[str]:
    return [
        fingerprint(order_id, sms, repeat=n)
        for (sms, _other), n in zip(entries, _repeats(entries), strict=True)
    ]


def unseen(order_id: int, entries: Sequence[tuple[Sms, bool]], seen: set[str]) -> list[tuple[Sms, bool, str]]:
    """The items of one answer not seen before, with their fingerprints. An SMS listed both as the
    order's own and as another service's (while SMSPVA moves it) is one SMS: the first item wins
    (own entries come first)."""
    fresh: list[tuple[Sms, bool, str]] = []
    taken: set[str] = set()
    for (sms, other), n in zip(entries, _repeats(entries), strict=True):
        print_ = fingerprint(order_id, sms, repeat=n)
        if print_ in seen or print_ in taken:
            continue
        if any(legacy_fingerprint(order_id, sms, other=flag, repeat=n) in seen for flag in (False, True)):
            continue
        taken.add(print_)
        fresh.append((sms, other, print_))
    return fresh


def is_old(sms: Sms, row: UserOrder, *, first_read: bool, now: float) -> bool:
    """First sight: was this SMS there before the bot knew the order? (see the module docstring)"""
    if row.rented_at is not None or not row.first_seen:
        return False
    if sms.date is None or sms.date_doubtful:
        # No date, or a zone-less date string that may be hours off: never dropped for its date,
        # only the very first read's baseline counts it as old.
        return first_read and now - row.first_seen <= FIRST_READ_WINDOW_SECONDS
    return sms.date < row.first_seen - SKEW_TOLERANCE_SECONDS


def next_key_check(paused_at: float, now: float, offsets: Sequence[float] = KEY_RECHECK_OFFSETS) -> float:
    """Wall-clock time of the next re-check of a paused key."""
    for offset in offsets:
        if paused_at + offset > now:
            return paused_at + offset
    last = paused_at + (offsets[-1] if offsets else 0.0)
    return last + KEY_RECHECK_DAILY * (int((now - last) // KEY_RECHECK_DAILY) + 1)


@dataclass(slots=True)
class _Known:
    """Timers for one order (what the bot knows about it is in the database)."""

    state: int | None
    offline_since: float | None = None
    sms_checked: float = 0.0  # monotonic time of the last successful `sms` call
    owed: bool = True  # a read is owed: first poll since (re)start, a failed read or a failed write
    failures: int = 0
    retry_at: float = 0.0  # per-order backoff of `sms` calls (monotonic)
    order: Order | None = None  # as the last `orders` answer listed it (the `sms` ticks use it)
    # The order's seen-set as last read from or written to the database (only the poller writes
    # it): a read that finds nothing new costs no database work. None: not known yet.
    seen: set[str] | None = None


@dataclass(slots=True)
class _UserState:
    apikey: str
    token: bytes
    phase: float
    next_due: float
    failures: int = 0
    paused_at: float | None = None  # SMSPVA rejected the key at (wall clock); re-checks only
    orders: dict[int, _Known] = field(default_factory=dict)
    active_until: float = 0.0  # poll fast until then (recent rental / activation)
    loaded: bool = False
    next_orders: bool = True  # what the scheduled poll is: an `orders` round, or an `sms` tick
    orders_due: float = 0.0  # the next `orders` round (monotonic)
    sms_due: float | None = None  # the next `sms` tick while a number is online, else None
    sms_turn: int = 0  # round robin over the online numbers
    pokes: int = 0  # SmsPoller.poke calls (one during a round asks for another round at once)


class SmsPoller:
    def __init__(
        self,
        client: SmspvaClient,
        users: UsersRepo,
        orders: OrdersRepo,
        notifier: Notifier,
        *,
        active_seconds: float,
        idle_seconds: float,
        concurrency: int = 256,
        key_recheck_offsets: Sequence[float] = KEY_RECHECK_OFFSETS,
    ) -> None:
        self._client = client
        self._users = users
        self._orders = orders
        self._notifier = notifier
        self._active = active_seconds
        self._idle = idle_seconds
        self._sms_gap = SMS_GAP_FACTOR * active_seconds
        self._online_orders = ONLINE_ORDERS_IDLE_FACTOR * idle_seconds
        self.key_recheck_offsets = tuple(key_recheck_offsets)
        # Back off per key while SMSPVA fails, but never for longer than ten idle intervals.
        self._max_backoff = min(MAX_BACKOFF_SECONDS, 10 * idle_seconds)
        self._slots = asyncio.Semaphore(concurrency)
        self._state: dict[int, _UserState] = {}
        self._heap: list[tuple[float, int]] = []
        self._next_start = 0.0
        self._start_gap = 0.0  # seconds between poll starts: 0 unless the loop lags
        self._probe: asyncio.TimerHandle | None = None
        self.loop_lag = 0.0  # the event loop's most recent lag, seconds (health, start spacing)
        self._wake = asyncio.Event()
        self._inflight: dict[int, asyncio.Task[None]] = {}
        self._last_refresh = 0.0
        self._stopping = False
        self.polls = 0
        self.lag = 0.0  # how late the most recent poll started, seconds (health)

    # --- scheduling ---------------------------------------------------------------------------

    def _schedule(self, user_id: int, state: _UserState, due: float, *, orders: bool = True) -> None:
        # A heap with lazy invalidation: an entry counts only while it matches state.next_due.
        state.next_due = due
        state.next_orders = orders
        if orders:
            state.orders_due = due
        heapq.heappush(self._heap, (due, user_id))
        self._wake.set()

    def _schedule_plan(self, user_id: int, state: _UserState) -> None:
        """The next call of a key: its `orders` round, or else its next `sms` tick. An `orders` round
        goes first only with a full pace before the tick (or when overdue past the last tick), so the
        ticks keep their rhythm when the pace allows it."""
        if state.sms_due is None or state.orders_due <= state.sms_due - self._client.spacing(state.apikey):
            self._schedule(user_id, state, state.orders_due)
        else:
            self._schedule(user_id, state, state.sms_due, orders=False)

    def _tick(self, state: _UserState, online: int) -> float:
        """Seconds between two `sms` ticks of a key: each online number is read every
        SMS_GAP_FACTOR x POLL_ACTIVE_SECONDS, the numbers of one key share its pace."""
        return max(self._sms_gap / max(online, 1), self._client.spacing(state.apikey))

    @staticmethod
    def _online(state: _UserState, now: float | None = None) -> list[tuple[int, _Known]]:
        """The key's online, listed numbers (with `now`: only those whose `sms` is not backing off;
        the ticks go on through a backoff and skip the number until it ends)."""
        return [
            (order_id, known)
            for order_id, known in sorted(state.orders.items())
            if known.state == OrderState.ACTIVE
            and known.order is not None
            and (now is None or known.retry_at <= now)
        ]

    def _recheck_due(self, state: _UserState) -> float:
        assert state.paused_at is not None
        wall = time.time()
        return time.monotonic() + max(
            0.0, next_key_check(state.paused_at, wall, self.key_recheck_offsets) - wall
        )

    def poke(self, user_id: int) -> None:
        """Something just happened for this user (rental, activation, key linked): poll fast now."""
        self._last_refresh = 0.0  # a newly linked key is picked up at once
        state = self._state.get(user_id)
        if state is not None and state.paused_at is None:
            state.active_until = time.monotonic() + RECENT_ACTIVITY_SECONDS
            state.orders_due = time.monotonic()  # an `orders` round next, before any `sms` tick
            state.pokes += 1
            if user_id not in self._inflight:
                self._schedule(user_id, state, time.monotonic())
        self._wake.set()

    async def _refresh_users(self) -> None:
        rows: list[tuple[int, bytes, float | None]]
        rows = [(user_id, token, None) for user_id, token in await self._users.pollable()]
        rows += [(user_id, token, float(at)) for user_id, token, at in await self._users.paused_keys()]
        now = time.monotonic()
        current: set[int] = set()
        for user_id, token, paused_at in rows:
            current.add(user_id)
            state = self._state.get(user_id)
            if (
                state is not None
                and state.token == token
                and (state.paused_at is None) == (paused_at is None)
            ):
                continue
            try:
                apikey = self._users.decrypt_key(token)
            except UndecryptableKeyError:  # paused and told once, so out of pollable(): never retried
                current.discard(user_id)
                await pause_undecryptable(self._users, self._notifier, user_id)
                continue
            # Spread users evenly over the interval (golden-ratio phases by id), never in a herd.
            phase = (user_id * 0.6180339887) % 1.0
            fresh = _UserState(apikey=apikey, token=token, phase=phase, next_due=now, paused_at=paused_at)
            if state is not None:  # key replaced: start over with it, now
                fresh.active_until = state.active_until
            self._state[user_id] = fresh
            if paused_at is not None:
                due = self._recheck_due(fresh)
            else:
                due = now if state is not None else now + phase * self._active
            self._schedule(user_id, fresh, due)
        for gone in set(self._state) - current:
            del self._state[gone]
        self._last_refresh = now

    def _probe_lag(self, expected: float) -> None:
        """Timer callback: how late the loop ran it is the loop's lag; it sets the start spacing."""
        loop = asyncio.get_running_loop()
        lag = max(0.0, loop.time() - expected)
        self.loop_lag = lag
        if lag > LAG_TARGET_SECONDS:
            self._start_gap = min(MAX_START_GAP_SECONDS, max(self._start_gap * 1.5, 0.0005))
        elif lag < LAG_TARGET_SECONDS / 2:
            self._start_gap = 0.0 if self._start_gap < 0.0002 else self._start_gap * 0.7
        if not self._stopping:
            at = loop.time() + LAG_PROBE_SECONDS
            self._probe = loop.call_at(at, self._probe_lag, at)

    async def run(self, heartbeat: Heartbeat | None = None) -> None:
        if self._probe is None:
            loop = asyncio.get_running_loop()
            at = loop.time() + LAG_PROBE_SECONDS
            self._probe = loop.call_at(at, self._probe_lag, at)
        try:
            await self._run(heartbeat)
        finally:
            if self._probe is not None:
                self._probe.cancel()
                self._probe = None

    async def _run(self, heartbeat: Heartbeat | None) -> None:
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
                if self._start_gap > 0:  # the loop lags: space the starts
                    gap = self._next_start - time.monotonic()
                    if gap > 0:
                        await asyncio.sleep(gap)
                    self._next_start = max(time.monotonic(), self._next_start) + self._start_gap
                self.lag = max(0.0, time.monotonic() - due) if state.paused_at is None else self.lag
                self._inflight[user_id] = asyncio.create_task(
                    self._poll(user_id, state), name=f"poll-{user_id}"
                )
            wait = self._heap[0][0] - time.monotonic() if self._heap else USERS_REFRESH_SECONDS
            wait = min(
                max(wait, 0.0),
                USERS_REFRESH_SECONDS,
                max(0.0, self._last_refresh + USERS_REFRESH_SECONDS - now),
            )
            if not self._wake.is_set():
                # A timer rather than wait_for (a task per round): the loop runs hundreds of times a second.
                timer = asyncio.get_running_loop().call_later(max(wait, 0.005), self._wake.set)
                try:
                    await self._wake.wait()
                finally:
                    timer.cancel()
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
        """Seconds to the next `orders` round. An online number's SMS are caught by its `sms` ticks,
        so while every live order is online or idle `orders` (states, new numbers) runs only every
        ONLINE_ORDERS_IDLE_FACTOR x POLL_IDLE_SECONDS; an activating order, one that just went
        offline, or a recent rental without an online number yet keeps it at POLL_ACTIVE_SECONDS."""
        now = time.monotonic()
        online = False
        interval = self._idle
        for known in state.orders.values():
            if known.state == OrderState.ACTIVATING:
                return self._active
            if known.offline_since is not None and now - known.offline_since < OFFLINE_GRACE_SECONDS:
                return self._active
            online = online or known.state == OrderState.ACTIVE
            if known.owed and known.retry_at > now:
                interval = min(interval, max(self._active, known.retry_at - now))
        if online:
            return max(interval, self._online_orders)
        if now < state.active_until:
            return self._active
        if not state.orders:
            return DISCOVERY_SECONDS
        return interval

    async def _poll(self, user_id: int, state: _UserState) -> None:
        started = time.monotonic()
        next_due: float | None = None
        planned = False
        pokes = state.pokes
        try:
            if state.paused_at is not None and not await self._recheck_key(user_id, state):
                next_due = self._recheck_due(state)
                return
            if state.next_orders or state.sms_due is None:
                await self._poll_user(user_id, state)
                state.failures = 0
                interval = self._interval(state)
                # Keep the user's phase: the next poll is one interval after this one was due (but
                # never in the past, when polls run late under load).
                state.orders_due = max(state.next_due + interval, started + min(interval, self._active))
                if state.pokes != pokes:  # a rental or activation while this round ran: once more
                    state.orders_due = time.monotonic()
                online = len(self._online(state))
                if not online:
                    state.sms_due = None
                elif state.sms_due is None or state.sms_due < started:
                    state.sms_due = started + self._tick(state, online)
            else:
                await self._sms_tick(user_id, state)
                online = len(self._online(state))
                if online and state.sms_due is not None:
                    tick = self._tick(state, online)
                    # Keep the rhythm (one tick after this one was due), never in the past.
                    state.sms_due = max(state.sms_due + tick, started + min(tick, self._sms_gap))
                else:
                    state.sms_due = None
            planned = True
        except SmspvaUnavailable:
            state.failures += 1
            delay = min(self._max_backoff, self._active * 2 ** min(state.failures, 10))
            next_due = time.monotonic() + delay
            log.info("smspva unavailable, backing off user_id=%s delay=%.0f", user_id, delay)
        except SmspvaError as error:
            if error.kind is ErrorKind.AUTH:
                state.paused_at = time.time()  # re-checked from now on, even if the write below fails
                next_due = self._recheck_due(state)
                try:
                    await self._key_rejected(user_id, state)
                except Exception:
                    log.exception("could not record the key pause user_id=%s", user_id)
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
            if self._state.get(user_id) is state:
                if planned:
                    self._schedule_plan(user_id, state)
                elif next_due is not None:
                    state.sms_due = None  # backing off (or paused): the whole key waits
                    self._schedule(user_id, state, next_due)

    # --- the key ------------------------------------------------------------------------------

    async def _key_rejected(self, user_id: int, state: _UserState) -> None:
        paused_at = int(time.time())
        state.paused_at = float(paused_at)
        # Timers start over on resume: every order is read once then (SMS may come meanwhile).
        state.orders.clear()
        state.loaded = False
        user = await self._users.get(user_id)
        if user is None:
            return
        if await self._notifier.notify(
            user,
            "key",
            key_rejected_notice,
            record=self._users.key_pause_recorder(user_id, paused_at, state.token),
        ):
            log.info("api key rejected, polling paused user_id=%s", user_id)

    async def _recheck_key(self, user_id: int, state: _UserState) -> bool:
        """A paused key's re-check: True (and the user resumed, told once) when SMSPVA accepts it."""
        try:
            await self._client.orders(state.apikey)
        except SmspvaError as error:
            if error.kind is not ErrorKind.AUTH:
                log.info("key re-check refused user_id=%s kind=%s", user_id, error.kind)
            return False
        except SmspvaUnavailable:
            log.info("key re-check: smspva unavailable user_id=%s", user_id)
            return False
        user = await self._users.get(user_id)
        if user is None:
            return False
        await self._notifier.notify(
            user, "key", key_resumed_notice, record=self._users.key_resume_recorder(user_id, state.token)
        )
        state.paused_at = None
        log.info("api key accepted again, polling resumed user_id=%s", user_id)
        return True

    # --- one poll -----------------------------------------------------------------------------

    async def _poll_user(self, user_id: int, state: _UserState) -> None:
        orders = await self._client.orders(state.apikey)
        rows = {row.id: row for row in await self._orders.for_user(user_id)}
        if not state.loaded:
            for stored in rows.values():
                if stored.rented_at and time.time() - stored.rented_at < RECENT_ACTIVITY_SECONDS:
                    state.active_until = time.monotonic() + RECENT_ACTIVITY_SECONDS
            state.loaded = True
        user: UserRow | None = None
        live_ids = {order.id for order in orders}
        for order in orders:
            known = state.orders.get(order.id)
            if known is None:
                known = state.orders[order.id] = _Known(state=order.state)
            row = rows.get(order.id)
            if row is None or row.missing_since is not None or _changed(row, order):
                user = user or await self._users.get(user_id)
                row = await self._snapshot(user_id, state.token, user, order, row)
                if row is not None and row.user_id != user_id:
                    row = None  # the key (and its orders) moved to another account meanwhile
            if known.state == OrderState.ACTIVE and order.state != OrderState.ACTIVE:
                known.offline_since = time.monotonic()
            known.state = order.state
            known.order = order
            if row is not None and self._wants_sms(order, row, known):
                user = user or await self._users.get(user_id)
                if user is not None:
                    await self._read_sms(user_id, state, order, known, row=row, user=user)
        missing = [order_id for order_id in rows if order_id not in live_ids]
        for order_id in missing:
            if (known := state.orders.get(order_id)) is not None:
                known.order = None  # not listed: no `sms` ticks until it is listed again
        gone = await self._orders.mark_missing(missing, polls=GONE_AFTER_POLLS, seconds=GONE_AFTER_SECONDS)
        for order_id in gone:
            state.orders.pop(order_id, None)
            log.info("order gone from the list user_id=%s order_id=%s", user_id, order_id)
        for order_id in [
            order_id for order_id in state.orders if order_id not in rows and order_id not in live_ids
        ]:
            del state.orders[order_id]  # gone through the bot (deleted) or before a restart

    async def _snapshot(
        self, user_id: int, token: bytes, user: UserRow | None, order: Order, row: UserOrder | None
    ) -> UserOrder | None:
        """Store the order's snapshot, with the notice about its state change in the same transaction."""
        previous = row.polled_state if row is not None else None
        record = self._orders.polled_recorder(user_id, token, order)
        notice = _state_notice(previous, order, self._notifier.support_url)
        if user is not None and notice is not None:
            kind, render = notice
            await self._notifier.notify(user, f"state:{kind}", lambda: render(order), record=record)
        else:
            await self._notifier.queue([], record=record)
        return await self._orders.get(order.id)

    def _wants_sms(self, order: Order, row: UserOrder, known: _Known) -> bool:
        now = time.monotonic()
        if known.retry_at > now:
            return False  # this order's `sms` calls are backing off; the others go on
        if not row.sms_synced or known.owed:
            return True  # the first read, or a read is owed
        if order.state == OrderState.ACTIVE:
            return False  # online: its `sms` ticks read it (`hasnewsms` included) within a tick
        if order.hasnewsms:
            return True  # SMSPVA says there is something new
        just_offline = known.offline_since is not None and now - known.offline_since < OFFLINE_GRACE_SECONDS
        return just_offline and now - known.sms_checked >= self._idle

    async def _sms_tick(self, user_id: int, state: _UserState) -> None:
        """One `sms` call: the next online number of this key, round robin."""
        online = self._online(state, time.monotonic())
        if not online:
            return
        _order_id, known = online[state.sms_turn % len(online)]
        state.sms_turn += 1
        if known.order is not None:
            await self._read_sms(user_id, state, known.order, known)

    async def _read_sms(
        self,
        user_id: int,
        state: _UserState,
        order: Order,
        known: _Known,
        *,
        row: UserOrder | None = None,
        user: UserRow | None = None,
    ) -> None:
        known.owed = True  # until what is read is written
        try:
            batch = await self._client.sms(state.apikey, order.id)
        except SmspvaError as error:
            if error.kind is ErrorKind.AUTH:
                raise
            known.failures += 1
            delay = min(self._max_backoff, self._idle * known.failures)
            known.retry_at = time.monotonic() + delay
            log.info("sms refused order_id=%s kind=%s retry_in=%.0f", order.id, error.kind, delay)
            return
        except SmspvaUnavailable:
            known.failures += 1
            delay = min(self._max_backoff, self._active * 2 ** min(known.failures, 10))
            known.retry_at = time.monotonic() + delay
            log.info("sms unavailable order_id=%s retry_in=%.0f", order.id, delay)
            return
        known.failures = 0
        known.sms_checked = time.monotonic()
        entries = [(sms, False) for sms in batch.sms] + [(sms, True) for sms in batch.other]
        prints = fingerprints(order.id, entries)
        if known.seen is not None and known.seen.issuperset(prints):
            known.owed = False  # nothing new (the cache is set only once the first read is recorded)
            return
        row = row or await self._orders.get(order.id)
        user = user or await self._users.get(user_id)
        if row is None or row.missing_since is not None or row.user_id != user_id or user is None:
            return  # deleted, missing from `orders` or moved to another account: a read stays owed
        await self._record_sms(user, state.token, order, row, entries, known)
        known.owed = False

    async def _record_sms(
        self,
        user: UserRow,
        token: bytes,
        order: Order,
        row: UserOrder,
        entries: list[tuple[Sms, bool]],
        known: _Known,
    ) -> None:
        # Oldest first for the chat (sorted by date below; undated ones last, in the answer's order).
        # The cache is exact once set (only the poller writes the seen-set, and only after the write);
        # `unseen` also honours fingerprints stored before the own/other flag left the hash.
        seen = known.seen if known.seen is not None else await self._orders.seen_fingerprints(order.id)
        fresh = unseen(order.id, entries, seen)
        if not fresh and row.sms_synced:
            known.seen = seen
            return
        now = time.time()
        first_read = not row.sms_synced
        messages: list[NewMessage] = []
        old = 0
        with self._notifier.speaking(user):
            for sms, other_service, print_ in sorted(fresh, key=lambda item: _sort_key(item[0])):
                if is_old(sms, row, first_read=first_read, now=now):
                    old += 1
                    continue  # there before the bot knew the order: recorded as seen, not pushed
                if other_service and not user.other_sms:
                    continue  # switched off in Settings: recorded as seen, not pushed
                pushes = sms_pushes(order, sms, user.timezone, other_service=other_service, read_at=now)
                messages += self._notifier.messages(
                    user, "sms", pushes, dedup_key=f"sms:{order.id}:{print_}", created_at=now
                )
        recorder = self._orders.sms_recorder(order.id, user.id, token, [item[2] for item in fresh])
        recorded = False

        async def record(conn: aiosqlite.Connection) -> bool:
            nonlocal recorded
            recorded = await recorder(conn)
            return recorded

        added = await self._notifier.queue(messages, record=record)
        if not recorded:
            return  # the key or the order moved meanwhile: nothing written, nothing cached
        known.seen = seen | {item[2] for item in fresh}  # written, with sms_synced = 1
        if added or old:
            log.info("sms queued user_id=%s order_id=%s messages=%s old=%s", user.id, order.id, added, old)


def _sort_key(sms: Sms) -> float:
    return float("inf") if sms.date is None else float(sms.date)


def _changed(row: UserOrder, order: Order) -> bool:
    return (
        row.polled_state != order.state
        or row.state != order.state
        or row.until != order.until
        or row.canprolong != bool(order.canprolong)
    )


def _state_notice(
    previous: int | None, order: Order, support_url: str
) -> tuple[str, Callable[[Order], Push]] | None:
    if previous is None:
        return None  # first sight: nothing changed that the user should be told about
    if previous == OrderState.ACTIVATING and order.state == OrderState.ACTIVE:
        return "online", online_notice
    if previous == OrderState.ACTIVE and order.state == OrderState.NOT_ACTIVE:
        return "offline", offline_notice
    if order.state == OrderState.NOT_IN_SYSTEM and previous != OrderState.NOT_IN_SYSTEM:
        return "gone", lambda gone: gone_notice(gone, support_url)
    return None
