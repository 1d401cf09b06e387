"""The SMSPVA rent API (``rent.php``) and nothing else: no aiogram, no other bot modules."""

from .client import DEFAULT_BASE_URL, SmspvaClient
from .errors import (
    WORDINGS,
    ErrorKind,
    RestoreErrorCode,
    SmspvaError,
    SmspvaUnavailable,
    Wording,
    classify_msg,
    match_restore_code,
)
from .models import (
    Country,
    CreatedOrder,
    HistoryItem,
    Order,
    OrderState,
    PeriodType,
    RestoreQuote,
    RestoreResult,
    Service,
    ServiceCatalog,
    Sms,
    SmsBatch,
)
from .redact import ApiKeyRedactingFilter, install_redaction, redact, uninstall_redaction

__all__ = [
    "DEFAULT_BASE_URL",
    "WORDINGS",
    "ApiKeyRedactingFilter",
    "Country",
    "CreatedOrder",
    "ErrorKind",
    "HistoryItem",
    "Order",
    "OrderState",
    "PeriodType",
    "RestoreErrorCode",
    "RestoreQuote",
    "RestoreResult",
    "Service",
    "ServiceCatalog",
    "Sms",
    "SmsBatch",
    "SmspvaClient",
    "SmspvaError",
    "SmspvaUnavailable",
    "Wording",
    "classify_msg",
    "install_redaction",
    "match_restore_code",
    "redact",
    "uninstall_redaction",
]
