"""``FakeTelegram``: the aiohttp server, its lifecycle and the dispatch of Bot API calls to the mixins."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from tests.fakes.telegram.admin import AdminMixin
from tests.fakes.telegram.errors import BAD_GATEWAY_PAGE, ApiError
from tests.fakes.telegram.messages import MessagesMixin
from tests.fakes.telegram.protocol import decode_params, read_params
from tests.fakes.telegram.records import ApiCall, Described, FailRule, Handler, LostAnswer
from tests.fakes.telegram.settings import BotSettingsMixin
from tests.fakes.telegram.state import DEFAULT_TOKEN, LOOPBACK_HOSTS
from tests.fakes.telegram.webhook import WebhookMixin


class FakeTelegram(AdminMixin, WebhookMixin, MessagesMixin, BotSettingsMixin):
    """An in-process Bot API server for one bot, with helpers to play the users' side."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        bot_id: int = 123456,
        bot_username: str = "smspva_test_bot",
        bot_name: str = "SMSPVA Test Bot",
    ) -> None:
        super().__init__(token, bot_id=bot_id, bot_username=bot_username, bot_name=bot_name)
        self._methods: dict[str, Handler] = {
            "getme": self._get_me,
            "logout": self._true,
            "close": self._true,
            "getupdates": self._get_updates,
            "setwebhook": self._set_webhook,
            "deletewebhook": self._delete_webhook,
            "getwebhookinfo": self._get_webhook_info,
            "sendmessage": self._send_message,
            "editmessagetext": self._edit_message_text,
            "editmessagereplymarkup": self._edit_message_reply_markup,
            "deletemessage": self._delete_message,
            "deletemessages": self._delete_messages,
            "answercallbackquery": self._answer_callback_query,
            "setmycommands": self._set_my_commands,
            "getmycommands": self._get_my_commands,
            "deletemycommands": self._delete_my_commands,
            "setchatmenubutton": self._set_chat_menu_button,
            "getchatmenubutton": self._get_chat_menu_button,
            "sendchataction": self._send_chat_action,
            "setmydescription": self._bot_text_setter("description"),
            "getmydescription": self._bot_text_getter("description"),
            "setmyshortdescription": self._bot_text_setter("short_description"),
            "getmyshortdescription": self._bot_text_getter("short_description"),
            "setmyname": self._bot_text_setter("name"),
            "getmyname": self._bot_text_getter("name"),
        }

    # ------------------------------------------------------------------------------------------- lifecycle

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on ``host:port`` (port 0: any free one) and return the base URL for TelegramAPIServer."""
        if host not in LOOPBACK_HOSTS:
            raise ValueError(f"the fake Telegram only binds a loopback address, not {host!r}")
        self._stopping = False
        self._stop_event = asyncio.Event()
        self._changed = asyncio.Event()
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_route("*", "/_admin/{action}", self._handle_admin)
        app.router.add_route("*", "/{tail:.*}", self._handle_unknown)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound_host, bound_port = self._runner.addresses[0][:2]
        shown_host = f"[{bound_host}]" if ":" in bound_host else bound_host
        self.base_url = f"http://{shown_host}:{bound_port}"
        self._webhook_task = asyncio.create_task(self._deliver_webhooks(), name="fake-telegram-webhook")
        return self.base_url

    async def stop(self) -> None:
        """Stop serving; pending getUpdates long polls answer [] at once."""
        self._stopping = True
        self._stop_event.set()
        self._notify()
        if self._webhook_task is not None:
            self._webhook_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._webhook_task
            self._webhook_task = None
        if self._runner is not None:
            await asyncio.sleep(0)  # let woken long polls write their answers
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeTelegram:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # ---------------------------------------------------------------------------------------- HTTP layer

    async def _handle_api(self, request: web.Request) -> web.Response:
        try:
            raw = await read_params(request)
        except ApiError as exc:
            return web.json_response(exc.payload(), status=exc.error_code)
        try:
            status, body = await self._call(request.match_info["method"], request.match_info["token"], raw)
        except LostAnswer as lost:
            if lost.kind == "bad_gateway":
                return web.Response(status=502, text=BAD_GATEWAY_PAGE, content_type="text/html")
            if request.transport is not None:
                request.transport.close()
            return web.Response()  # never reaches the bot: the connection is gone
        return web.json_response(body, status=status)

    async def _handle_unknown(self, request: web.Request) -> web.Response:
        return web.json_response({"ok": False, "error_code": 404, "description": "Not Found"}, status=404)

    async def _call(self, method: str, token: str, raw: Mapping[str, Any]) -> tuple[int, dict[str, Any]]:
        """Run and record one call; raises LostAnswer when an injected fault eats the answer."""
        params = decode_params(raw)
        call = ApiCall(method=method, token=token, params=params, at=time.monotonic())
        self.calls.append(call)
        fault: FailRule | None = None
        status = 0  # stays 0, and body None, only when an injected fault keeps the call from running
        body: dict[str, Any] | None = None
        try:
            if token != self.token:
                raise ApiError(401, "Unauthorized")
            handler = self._methods.get(method.lower())
            if handler is None:
                raise ApiError(404, "Not Found")
            fault = self._take_fault(method, params)
            if fault is not None and fault.error is not None:
                raise fault.error
            if fault is None or fault.applied:
                result = await handler(params)
                status = 200
                if isinstance(result, Described):
                    body = {"ok": True, "result": result.result, "description": result.description}
                else:
                    body = {"ok": True, "result": result}
        except ApiError as exc:
            status, body = exc.error_code, exc.payload()
        call.status = status
        call.response = body
        if fault is not None and fault.error is None:
            call.fault = fault.kind
            call.status = 502 if fault.kind == "bad_gateway" else 0
            raise LostAnswer(fault.kind)
        assert body is not None
        return status, body
