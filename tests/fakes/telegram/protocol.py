"""Request decoding: parameters from the query string and a JSON, urlencoded or multipart body."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from tests.fakes.telegram.errors import bad_request

INT_PARAMS = frozenset(
    {
        "chat_id",
        "from_chat_id",
        "message_id",
        "message_thread_id",
        "reply_to_message_id",
        "offset",
        "limit",
        "timeout",
        "user_id",
        "cache_time",
        "max_connections",
        "until_date",
    }
)
BOOL_PARAMS = frozenset(
    {
        "allow_sending_without_reply",
        "disable_notification",
        "disable_web_page_preview",
        "drop_pending_updates",
        "for_channels",
        "protect_content",
        "show_alert",
        "allow_paid_broadcast",
    }
)
JSON_PARAMS = frozenset(
    {
        "allowed_updates",
        "caption_entities",
        "commands",
        "entities",
        "link_preview_options",
        "media",
        "menu_button",
        "message_ids",
        "reply_markup",
        "reply_parameters",
        "results",
        "rights",
        "scope",
    }
)
INT_RE = re.compile(r"-?\d+")
# ---------------------------------------------------------------------------------------- request decoding


async def read_params(request: web.Request) -> dict[str, Any]:
    """Parameters from the query string and the body (JSON, urlencoded or multipart), as Telegram reads them."""
    params: dict[str, Any] = dict(request.query)
    if request.method != "POST" or not request.body_exists:
        return params
    if request.content_type == "application/json":
        try:
            body = json.loads(await request.text())
        except ValueError as exc:
            raise bad_request("can't parse JSON object") from exc
        if isinstance(body, dict):
            params.update(body)
        return params
    if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.post()
        for key, value in form.items():
            if isinstance(value, web.FileField):
                params[key] = f"<file {value.filename}: {len(value.file.read())} bytes>"
            else:
                params[key] = value
    return params


def decode_params(raw: Mapping[str, Any]) -> dict[str, Any]:
    """JSON-encoded objects parsed, integer and boolean fields converted, as the Bot API does."""
    params: dict[str, Any] = {}
    for key, value in raw.items():
        if key in JSON_PARAMS and isinstance(value, str):
            with contextlib.suppress(ValueError):
                value = json.loads(value)  # left as the raw string if broken: the method reports it
        elif key in INT_PARAMS and isinstance(value, str) and INT_RE.fullmatch(value.strip()):
            value = int(value)
        elif key in BOOL_PARAMS and isinstance(value, str):
            value = value.strip().lower() in ("true", "1")
        params[key] = value
    return params


def pretty_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2)
