"""Confirmations whose outcome never reached the user: reconciled with `orders`, told through the outbox.

A confirmation is `running` from its claim until its money call is settled. When the process stops in
between — a deploy's SIGTERM past the shutdown grace, a crash, SIGKILL — or a handler fails after the
call, the row stays `running` and the user's screen says "⏳". `settle()` looks once at the user's
orders (never re-sending anything) and pushes what is known: it went through, it did not, or it
cannot be told yet and what to do. At start every `running` token is settled this way; the claim
middleware does the same for one token when its handler raised.

`mark_sent` (bot/db/confirmations.py) is written right before the upstream call, so a token without
it never reached SMSPVA and nothing was charged.
"""

from __future__ import annotations

import logging

from bot.db.confirmations import Confirmation, ConfirmationsRepo, ConfirmStatus
from bot.db.expiry import ExpiryRepo
from bot.db.orders import OrdersRepo
from bot.db.users import UsersRepo
from bot.formatting import escape, ltr_code, phone_html
from bot.pushes import confirmation_outcome
from bot.services.locks import UserLocks
from bot.services.money import find_order
from bot.services.notifier import Notifier
from bot.services.order_actions import ADD_SERVICE, AUTO_PROLONG, DELETE, PROLONG, RESTORE
from bot.services.renting import CONFIRM_KIND, Renter, RentPlan, find_new_order
from bot.smspva import Order, SmspvaClient, SmspvaError, SmspvaUnavailable

log = logging.getLogger(__name__)


def _happened(confirmation: Confirmation, orders: list[Order]) -> Order | bool:
    """Whether the confirmed effect shows in `orders` (the order it concerns, when there is one)."""
    payload = confirmation.payload
    kind = confirmation.kind
    if kind == CONFIRM_KIND:
        note = confirmation.result or {}
        plan = RentPlan.from_payload(payload)
        known = {int(i) for i in note.get("known_ids", [])}
        found = find_new_order(orders, plan, known, float(note.get("started", confirmation.used_at or 0)))
        return found if found is not None else False
    order_id = int(payload.get("order_id", 0))
    order = find_order(orders, order_id)
    if kind == PROLONG:
        return order if order is not None and order.until > int(payload["until"]) else False
    if kind == ADD_SERVICE:
        number = "".join(ch for ch in str(payload.get("pnumber", "")) if ch.isdigit())
        service = str(payload.get("service", ""))
        held = next(
            (
                o
                for o in orders
                if (o.id == order_id or o.pnumber_with_code == number) and service in o.scode.split(",")
            ),
            None,
        )
        return held if held is not None else False
    if kind == DELETE:
        return order is None
    if kind == RESTORE:
        number = str(payload.get("number", ""))
        restored = next(
            (o for o in orders if o.id == order_id or (number and o.pnumber_with_code == number)), None
        )
        return restored if restored is not None else False
    return False


def _subject(confirmation: Confirmation) -> str:
    """What the confirmation was about, as HTML for the push."""
    payload = confirmation.payload
    if confirmation.kind == CONFIRM_KIND:
        return escape(str(payload.get("service_name", payload.get("service", ""))))
    if confirmation.kind == ADD_SERVICE:
        return (
            escape(str(payload.get("service_name", ""))) + " · " + ltr_code("+" + str(payload.get("pnumber")))
        )
    number = str(payload.get("number", ""))
    if confirmation.kind in (RESTORE, AUTO_PROLONG) and number and not number.startswith("+"):
        number = "+" + number
    return ltr_code(number) if number else escape(str(payload.get("order_id", "")))


class PaymentRecovery:
    def __init__(
        self,
        client: SmspvaClient,
        confirmations: ConfirmationsRepo,
        users: UsersRepo,
        orders: OrdersRepo,
        renter: Renter,
        notifier: Notifier,
        expiry: ExpiryRepo,
        locks: UserLocks,
    ) -> None:
        self._client = client
        self._confirmations = confirmations
        self._users = users
        self._orders = orders
        self._renter = renter
        self._notifier = notifier
        self._expiry = expiry
        self._locks = locks

    async def reconcile_running(self) -> int:
        """At start: settle every confirmation a stop or crash left `running`. Returns how many."""
        settled = 0
        for listed in await self._confirmations.running():
            # Updates are already served while this runs: a token claimed by this process is live
            # (its handler holds the user's lock), never an interrupted one.
            confirmation = await self._confirmations.get(listed.token)
            if confirmation is None or confirmation.status is not ConfirmStatus.RUNNING:
                continue
            if self._locks.running(confirmation.user_id) == confirmation.token:
                continue
            await self.settle(confirmation)
            settled += 1
        if settled:
            log.info("interrupted confirmations reconciled count=%s", settled)
        return settled

    async def after_failure(self, confirmation: Confirmation) -> None:
        """A confirm handler raised: settle a token it left `running`, or push the outcome of one it
        finished but never showed (same dedup key as `deliver()`'s, so a result already queued is not
        repeated). A call that never left needs no push: the error handler says nothing was charged."""
        if confirmation.status is ConfirmStatus.RUNNING:
            await self.settle(confirmation, tell_not_sent=False)
            return
        verdicts = {
            ConfirmStatus.DONE: "done",
            ConfirmStatus.UNCLEAR: "unclear",
            ConfirmStatus.FAILED: "failed",
        }
        verdict = verdicts.get(confirmation.status)
        user = await self._users.get(confirmation.user_id)
        if verdict is None or user is None:
            return
        order_id = (confirmation.result or {}).get("order_id", confirmation.payload.get("order_id"))
        await self._notifier.notify(
            user,
            "confirmation",
            lambda: confirmation_outcome(
                confirmation.kind, verdict, _subject(confirmation), int(order_id) if order_id else None
            ),
            dedup_key=f"confirm:{confirmation.token}",
        )

    async def settle(self, confirmation: Confirmation, *, tell_not_sent: bool = True) -> None:
        """Finish a `running` confirmation from what `orders` shows, and push its outcome."""
        user = await self._users.get(confirmation.user_id)
        token = confirmation.token
        found: Order | bool = False
        if confirmation.kind == AUTO_PROLONG:
            # No upstream call: turning it on is one local write, so it is on or it is not.
            on = await self._expiry.is_enabled(int(confirmation.payload.get("order_id", 0)))
            verdict, status = ("done", ConfirmStatus.DONE) if on else ("not_sent", ConfirmStatus.FAILED)
            order_id = int(confirmation.payload.get("order_id", 0)) if on else None
        elif not confirmation.sent:
            verdict, status, order_id = "not_sent", ConfirmStatus.FAILED, None
        else:
            apikey = await self._users.api_key(confirmation.user_id)
            orders: list[Order] | None = None
            if apikey is not None:
                try:
                    orders = await self._client.orders(apikey)
                except (SmspvaError, SmspvaUnavailable) as error:
                    log.warning("could not reconcile confirmation error=%s", type(error).__name__)
            if orders is None:
                verdict, status, order_id = "unclear", ConfirmStatus.UNCLEAR, None
            else:
                found = _happened(confirmation, orders)
                if found is False:
                    verdict, status, order_id = "not_done", ConfirmStatus.FAILED, None
                else:
                    verdict, status = "done", ConfirmStatus.DONE
                    order_id = found.id if isinstance(found, Order) else None
                    await self._record(confirmation, found)
        await self._confirmations.finish(token, status, {"msg": f"reconciled: {verdict}"})
        log.info(
            "confirmation reconciled kind=%s user_id=%s verdict=%s",
            confirmation.kind,
            confirmation.user_id,
            verdict,
        )
        if user is None or (verdict == "not_sent" and not tell_not_sent):
            return
        subject = _subject(confirmation)
        if verdict == "done" and confirmation.kind == CONFIRM_KIND and isinstance(found, Order):
            subject = phone_html(found.ccode, found.pnumber) + " · " + subject
        await self._notifier.notify(
            user,
            "confirmation",
            lambda: confirmation_outcome(confirmation.kind, verdict, subject, order_id),
            dedup_key=f"confirm:{token}",
        )

    async def _record(self, confirmation: Confirmation, found: Order | bool) -> None:
        if not isinstance(found, Order):
            if confirmation.kind == DELETE:
                await self._orders.mark_gone([int(confirmation.payload["order_id"])])
            return
        if confirmation.kind == CONFIRM_KIND:
            await self._renter.record_found(
                confirmation.user_id, found, RentPlan.from_payload(confirmation.payload)
            )
        else:
            await self._orders.upsert_seen(confirmation.user_id, found)
