"""Every CallbackData factory. Prefixes are short and versioned: a future layout gets a new prefix,
so buttons on old messages fail to parse (and get a "this button is outdated" answer) instead of
being misread."""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData

# Buttons on notifications (pushed SMS, state notices, expiry warnings, reports) carry this in front
# of their ordinary callback data. The dispatcher strips it before routing (NotificationButtons in
# bot/middlewares.py), so every screen handles them as usual, and show() answers with a new message:
# a notification is a record and is never edited away. Not a CallbackData prefix: no factory parses it.
FROM_NOTIFICATION = "!"


def from_notification(data: str) -> str:
    """The callback data of a button on a notification."""
    return FROM_NOTIFICATION + data


def is_from_notification(data: str | None) -> bool:
    return bool(data) and str(data).startswith(FROM_NOTIFICATION)


def plain_data(data: str) -> str:
    """The ordinary callback data, without the notification mark."""
    return data[len(FROM_NOTIFICATION) :] if is_from_notification(data) else data


class MenuAction(StrEnum):
    HOME = "h"
    RENT = "r"
    ORDERS = "o"
    ARCHIVE = "a"
    SETTINGS = "s"
    HELP = "?"


class MenuCb(CallbackData, prefix="m1"):
    action: MenuAction


class LangCb(CallbackData, prefix="l1"):
    code: str


class SettingsAction(StrEnum):
    KEY = "k"
    KEY_REPLACE = "r"
    KEY_UNLINK = "u"
    KEY_UNLINK_CONFIRM = "U"
    KEY_LINK = "p"  # the paste prompt, straight from the welcome or a need-key screen
    KEY_CANCEL = "c"  # stop waiting for a key
    LANGUAGE = "l"
    TIMEZONE = "t"
    TIMEZONE_TYPE = "T"
    OTHER_SMS = "o"
    WARNINGS = "w"
    WATCHES = "W"


class SettingsCb(CallbackData, prefix="s1"):
    action: SettingsAction


class TzCb(CallbackData, prefix="z1"):
    zone: str


class TzRegionAction(StrEnum):
    EUROPE = "e"
    ASIA = "a"
    AFRICA = "f"
    AMERICAS = "m"
    OCEANIA = "o"
    OFFSETS = "u"


class TzRegionCb(CallbackData, prefix="z2"):
    """A region of the time zone picker: its zones on one screen."""

    region: TzRegionAction


class WarnCb(CallbackData, prefix="w1"):
    hours: int


class WatchCb(CallbackData, prefix="n1"):
    watch_id: int


class RentAction(StrEnum):
    COUNTRIES = "c"  # country list page
    COUNTRY = "C"  # a country picked -> services
    SERVICES = "s"  # service list page
    SERVICE = "S"  # a service picked -> periods
    PERIOD = "p"  # a period picked -> summary
    AGAIN = "a"  # one-tap repeat of a recent choice -> summary
    WATCH = "w"  # notify me when available
    UNWATCH = "u"  # stop notifying
    MORE_PERIODS = "m"  # the periods behind "More"
    SEARCH_CLEAR = "x"


class RentCb(CallbackData, prefix="r1"):
    action: RentAction
    country: str = ""
    service: str = ""
    dtype: str = ""
    dcount: int = 0
    page: int = 0


class ConfirmKind(StrEnum):
    RENT = "r"
    PROLONG = "p"
    ADD_SERVICE = "s"
    DELETE = "d"
    RESTORE = "x"
    AUTO_PROLONG = "a"  # turning auto-prolong on is a payment: it charges when prolonging opens


class ConfirmCb(CallbackData, prefix="k2"):
    """A money-moving confirmation: its kind (which handler runs it) and the token. What it
    confirms lives in the database, and the claim checks the stored kind matches. "k1" (token only)
    buttons on old messages no longer parse and get the "outdated" answer."""

    kind: ConfirmKind
    token: str


class OrderAction(StrEnum):
    LIST = "l"
    CARD = "c"
    ACTIVATE = "a"
    SMS = "m"
    PROLONG = "p"
    PROLONG_PERIOD = "P"
    ADD_SERVICE = "s"
    ADD_SERVICE_PICK = "S"
    ADD_SERVICE_DAYS = "D"
    ADD_SERVICE_CLEAR = "x"
    DELETE = "d"
    AUTO_PROLONG = "A"
    AUTO_PROLONG_SET = "B"
    AUTO_PROLONG_OFF = "O"
    REFRESH = "r"


class OrderCb(CallbackData, prefix="o1"):
    action: OrderAction
    order_id: int = 0
    page: int = 0
    service: str = ""
    dtype: str = ""
    dcount: int = 0


class ArchiveAction(StrEnum):
    PAGE = "p"
    RESTORE = "r"


class ArchiveCb(CallbackData, prefix="a1"):
    action: ArchiveAction
    page: int = 0
    order_id: int = 0
