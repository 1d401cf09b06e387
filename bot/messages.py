"""User-facing sentences shared by several screens (errors above all)."""

from __future__ import annotations

from decimal import Decimal

from aiogram.utils.i18n import gettext as _

from bot.config import DEFAULT_TOP_UP_URL
from bot.formatting import escape, money
from bot.smspva import ErrorKind, RestoreErrorCode, SmspvaError, SmspvaUnavailable

# The links themselves come from Settings (SUPPORT_URL, TOP_UP_URL, API_KEY_URL), passed in by callers.
RESTORE_METHODS = frozenset({"restore_user", "restore_user_precalc"})


def need_key(key_url: str) -> str:
    return (
        _(
            "To do this I need your SMSPVA API key.\n"
            "Find it on smspva.com in your profile (API section), then send:\n"
            "<code>/key YOUR_KEY</code>\n"
            "or open Settings → API key. The message with the key is deleted at once."
        )
        + "\n"
        + _('<a href="{url}">Where to find the key</a>').format(url=escape(key_url))
    )


def unavailable() -> str:
    return _("SMSPVA is not answering right now. Nothing was changed — please try again in a minute.")


def restore_error(code: RestoreErrorCode) -> str:
    texts = {
        RestoreErrorCode.NOAVAILDAYS: _(
            "This number cannot be restored automatically: it does not have enough working days left. "
            "Write to SMSPVA support if you need it back."
        ),
        RestoreErrorCode.NOTOWNER: _("This order does not seem to be yours. Check the order and try again."),
        RestoreErrorCode.USER_HAD_NOT_THIS_ORDER: _(
            "This order does not seem to be yours. Check the order and try again."
        ),
        RestoreErrorCode.NOREMOTEDATA: _(
            "SMSPVA could not find this order in the archive. Check that the rental has expired."
        ),
        RestoreErrorCode.NOORDERCOUNTRY: _(
            "SMSPVA could not find all the details of this order. "
            "Please write to the live chat on smspva.com to restore it."
        ),
        RestoreErrorCode.DATEDIFFINVERT: _(
            "This rental has not expired yet, so there is nothing to restore. "
            "Prolong it from My numbers instead."
        ),
        RestoreErrorCode.NOSERVICEDATA: _(
            "SMSPVA could not load the service of this order. "
            "Please write to the live chat on smspva.com to restore it."
        ),
        RestoreErrorCode.SERVICE_NOT_FOUND: _(
            "SMSPVA could not load the service of this order. "
            "Please write to the live chat on smspva.com to restore it."
        ),
        RestoreErrorCode.NOBALANCE: _(
            "Your SMSPVA balance is not enough to restore this rental. Top up on smspva.com and try again."
        ),
        RestoreErrorCode.BALANCE_NOT_ENOUGH: _(
            "Your SMSPVA balance is not enough to restore this rental. Top up on smspva.com and try again."
        ),
    }
    return texts[code]


def upstream_error(error: SmspvaError | SmspvaUnavailable, top_up_url: str = DEFAULT_TOP_UP_URL) -> str:
    """A plain-language explanation with a next step; the upstream msg kept verbatim where useful."""
    if isinstance(error, SmspvaUnavailable):
        return unavailable()
    # "Balance is not enough" and "Service not found" are restore codes too, but mean the same
    # thing elsewhere: the restore wording is used only for the restore methods.
    if error.restore_code is not None and error.method in RESTORE_METHODS:
        return restore_error(error.restore_code)
    if error.kind is ErrorKind.AUTH:
        return _(
            "SMSPVA rejected your API key. Check it on smspva.com and link it again: "
            "<code>/key YOUR_KEY</code>"
        )
    if error.kind is ErrorKind.NO_BALANCE:
        return _(
            'Your SMSPVA balance is not enough for this. <a href="{url}">Top up on smspva.com</a> '
            "and try again."
        ).format(url=escape(top_up_url))
    if error.kind is ErrorKind.NO_NUMBERS:
        return _("No numbers are left for this service right now. Try another country or service, or later.")
    if error.kind is ErrorKind.PROLONG_NOT_YET:
        return _("This number can be prolonged only when less than 7 days of the rental remain.")
    if error.kind is ErrorKind.RATE_LIMITED:
        return _(
            "SMSPVA asked to slow down and did not carry this out, so nothing was charged. "
            "Try again in a few seconds."
        )
    if error.kind is ErrorKind.PERIOD_TOO_LONG:
        return _("The longest rental is 90 days. Choose a shorter period.")
    return _("SMSPVA answered: «{msg}». Please check and try again, or write to SMSPVA support.").format(
        msg=escape(error.msg or "?")
    )


def balance_lines(balance: Decimal | None, total: Decimal | None, top_up_url: str) -> list[str]:
    """The account balance before paying and, when it falls short of `total`, the shortfall with a
    top-up link. Nothing when the balance could not be read (it is a help, never an error)."""
    if balance is None:
        return []
    lines = [_("Your SMSPVA balance: {balance}").format(balance=money(balance))]
    if total is not None and total > balance:
        lines.append(
            _("⚠️ Not enough balance: this costs {total}, {missing} more than you have.").format(
                total=money(total), missing=money(total - balance)
            )
        )
        lines.append(_('<a href="{url}">Top up on smspva.com</a>').format(url=escape(top_up_url)))
    return lines
