"""Typed errors raised by :class:`bot.smspva.client.SmspvaClient`.

Two families, deliberately unrelated so that callers must decide about each:

* :class:`SmspvaError` -- SMSPVA answered and said no (``status`` 0). Nothing happened upstream;
  ``kind`` and ``restore_code`` tell what the user should be told.
* :class:`SmspvaUnavailable` -- we do not know what SMSPVA said (transport failure, non-2xx, a body that
  is not the documented JSON). For state-changing calls ``request_sent`` tells whether the order list must
  be reconciled before trying again: money may have moved.

Assumption (the rent page is silent): the wording of ``msg`` is not documented except for the restore
codes, so :class:`ErrorKind` is derived from one table of recognised wordings, :data:`WORDINGS`, each with
where it comes from; see :func:`classify_msg`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "WORDINGS",
    "ErrorKind",
    "RestoreErrorCode",
    "SmspvaError",
    "SmspvaUnavailable",
    "Wording",
    "classify_msg",
    "match_restore_code",
]


class ErrorKind(StrEnum):
    """What a ``status`` 0 answer means for the user, guessed from its ``msg``."""

    AUTH = "auth"  # wrong / unknown API key
    NO_BALANCE = "no_balance"
    NO_NUMBERS = "no_numbers"  # no numbers available for the country/service
    NOT_FOUND = "not_found"  # order or service not found
    PROLONG_NOT_YET = "prolong_not_yet"  # prolongation only possible near the end of the rent
    PERIOD_TOO_LONG = "period_too_long"  # the requested period exceeds the maximum
    RATE_LIMITED = "rate_limited"  # too many requests: nothing was done, try again after a pause
    OTHER = "other"


class RestoreErrorCode(StrEnum):
    """The error ``msg`` values documented for ``restore_user`` / ``restore_user_precalc``."""

    NOAVAILDAYS = "NOAVAILDAYS"
    NOTOWNER = "NOTOWNER"
    NOREMOTEDATA = "NOREMOTEDATA"
    NOORDERCOUNTRY = "NOORDERCOUNTRY"
    DATEDIFFINVERT = "DATEDIFFINVERT"
    NOSERVICEDATA = "NOSERVICEDATA"
    NOBALANCE = "NOBALANCE"
    USER_HAD_NOT_THIS_ORDER = "the user had not this order"
    SERVICE_NOT_FOUND = "Service not found"
    BALANCE_NOT_ENOUGH = "Balance is not enough"


# Longest first, so that a code which is a prefix of another can never shadow it.
_RESTORE_CODES_BY_LENGTH: tuple[RestoreErrorCode, ...] = tuple(
    sorted(RestoreErrorCode, key=lambda code: len(code.value), reverse=True)
)


@dataclass(frozen=True, slots=True)
class Wording:
    """One recognised ``status`` 0 wording: a regular expression (searched in the case-folded text),
    the :class:`ErrorKind` it means and where the wording comes from."""

    pattern: str
    kind: ErrorKind
    source: str


# THE table of recognised refusal wordings, checked in this order (the first match wins).
#
# What the public material shows: the rent page documents only the restore codes (matched separately by
# :func:`match_restore_code`; "Balance is not enough" is one of them). SMSPVA's own SDK (``smspva-sdk``)
# and docs.smspva.com type every refusal as ``{"status": 0, "msg": str}`` without listing texts; the other
# wordings below are assumptions (the wording of SMSPVA's older activation API, common HTTP phrases).
# Rules that follow from that:
# * rate limiting is checked first: "too many requests for this API key" is a pause, never a bad key;
# * AUTH (the only kind that pauses a user's polling) needs a clear authentication signal -- an API-key
#   word next to a failure word, or "unauthorized" -- never a keyword somewhere in a long text;
# * anything unmatched is OTHER: shown verbatim inside a translated sentence, never taken for a bad key.
_API_KEY = r"api[ _-]?key"
WORDINGS: tuple[Wording, ...] = (
    Wording(
        r"too many (?:requests|queries|calls)|rate[ _-]?limit|request(?:s)? limit|too (?:often|frequent)"
        r"|slow down|flood",
        ErrorKind.RATE_LIMITED,
        "docs.smspva.com asks for 4-5 s between queries and says faster clients are rejected (wording "
        "assumed; HTTP 429 is handled by the client as the same signal)",
    ),
    Wording(
        rf"{_API_KEY}\W*(?:is\W+)?(?:not found|not valid|invalid|wrong|incorrect|unknown|disabled|blocked)"
        rf"|(?:wrong|invalid|incorrect|unknown|bad)\W+{_API_KEY}|\bunauthori[sz]ed\b",
        ErrorKind.AUTH,
        'assumption: "API KEY NOT FOUND!" is what SMSPVA\'s older activation API answers for an unknown key',
    ),
    Wording(
        r"^nobalance|balance is not enough|not enough (?:money|balance|funds)|insufficient (?:funds|balance)"
        r"|low balance",
        ErrorKind.NO_BALANCE,
        'rent page: restore codes NOBALANCE and "Balance is not enough"; the rest assumed',
    ),
    Wording(
        r"no free|no numbers|no available|not available numbers|numbers? (?:are|is) not available",
        ErrorKind.NO_NUMBERS,
        "assumption (the page only says a service may have none left)",
    ),
    Wording(
        r"prolong.*(?:7 days|less than)",
        ErrorKind.PROLONG_NOT_YET,
        "assumption from the page's FAQ rule: prolongation only with less than 7 days left",
    ),
    Wording(
        r"90 days|maximum",
        ErrorKind.PERIOD_TOO_LONG,
        "assumption from the page's FAQ rule: at most 90 days of rent",
    ),
    Wording(
        r"not found",
        ErrorKind.NOT_FOUND,
        'rent page: restore code "Service not found"; "Order/Country not found" assumed',
    ),
)
_COMPILED: tuple[tuple[re.Pattern[str], ErrorKind], ...] = tuple(
    (re.compile(wording.pattern), wording.kind) for wording in WORDINGS
)


def match_restore_code(msg: str) -> RestoreErrorCode | None:
    """The documented restore code ``msg`` starts with (case-insensitively), or None.

    "Starts with" rather than "equals" because the documented NOBALANCE text continues ("... Today need").
    """
    text = msg.strip().casefold()
    for code in _RESTORE_CODES_BY_LENGTH:
        if text.startswith(code.value.casefold()):
            return code
    return None


def classify_msg(msg: str) -> ErrorKind:
    """Map an upstream refusal text to an :class:`ErrorKind` with the :data:`WORDINGS` table."""
    text = " ".join(msg.casefold().split())
    for pattern, kind in _COMPILED:
        if pattern.search(text):
            return kind
    return ErrorKind.OTHER


class SmspvaError(Exception):
    """SMSPVA answered ``status`` 0: the request was refused and nothing changed upstream.

    ``msg`` is the upstream text verbatim ("" when missing); ``kind`` is derived from it; ``restore_code``
    is set only for the restore methods (the codes are documented for them alone).
    """

    method: str
    msg: str
    kind: ErrorKind
    restore_code: RestoreErrorCode | None

    def __init__(
        self,
        method: str,
        msg: str = "",
        *,
        kind: ErrorKind | None = None,
        restore_code: RestoreErrorCode | None = None,
    ) -> None:
        self.method = method
        self.msg = msg
        self.kind = classify_msg(msg) if kind is None else kind
        self.restore_code = restore_code
        super().__init__(method, msg)

    def __str__(self) -> str:
        code = f" restore_code={self.restore_code.name}" if self.restore_code is not None else ""
        return f"SMSPVA refused method={self.method} kind={self.kind.value}{code} msg={self.msg!r}"

    def __repr__(self) -> str:
        return f"SmspvaError(method={self.method!r}, msg={self.msg!r}, kind={self.kind.value!r})"

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild_error, (self.method, self.msg, self.kind, self.restore_code))


class SmspvaUnavailable(Exception):
    """We could not get a usable answer from SMSPVA.

    Raised for non-2xx responses, timeouts, connection errors, bodies that are not a JSON object and success
    bodies whose ``data`` cannot be understood. ``request_sent`` is False only when the request certainly
    never reached the server (connect errors, connect/pool timeouts); when it is True a state-changing call
    may have taken effect and the caller must reconcile (e.g. re-read ``orders``) before retrying.
    ``reason`` is a short machine-friendly word; it never contains the URL, the API key or response data.
    """

    method: str
    reason: str
    request_sent: bool
    status_code: int | None

    def __init__(
        self, method: str, reason: str, *, request_sent: bool, status_code: int | None = None
    ) -> None:
        self.method = method
        self.reason = reason
        self.request_sent = request_sent
        self.status_code = status_code
        super().__init__(method, reason)

    def __str__(self) -> str:
        status = f" http_status={self.status_code}" if self.status_code is not None else ""
        return (
            f"SMSPVA unavailable method={self.method} reason={self.reason}{status} "
            f"request_sent={self.request_sent}"
        )

    def __repr__(self) -> str:
        return (
            f"SmspvaUnavailable(method={self.method!r}, reason={self.reason!r}, "
            f"request_sent={self.request_sent!r}, status_code={self.status_code!r})"
        )

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild_unavailable, (self.method, self.reason, self.request_sent, self.status_code))


def _rebuild_error(
    method: str, msg: str, kind: ErrorKind, restore_code: RestoreErrorCode | None
) -> SmspvaError:
    return SmspvaError(method, msg, kind=kind, restore_code=restore_code)


def _rebuild_unavailable(
    method: str, reason: str, request_sent: bool, status_code: int | None
) -> SmspvaUnavailable:
    return SmspvaUnavailable(method, reason, request_sent=request_sent, status_code=status_code)
