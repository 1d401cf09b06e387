"""The admin endpoints for chatting by hand: /_admin/send, /_admin/press, /_admin/messages, /_admin/transcript,
/_admin/calls."""

from __future__ import annotations

import contextlib
import json
from dataclasses import asdict
from typing import Any

from aiohttp import web

from tests.fakes.telegram.protocol import pretty_json
from tests.fakes.telegram.records import FakeUser
from tests.fakes.telegram.updates import UpdatesMixin


class AdminMixin(UpdatesMixin):
    """HTTP endpoints for a person playing the users by hand (curl)."""

    # -------------------------------------------------------------------------------------------- admin

    async def _handle_admin(self, request: web.Request) -> web.Response:
        """Chat by hand: /_admin/send, /_admin/press, /_admin/messages, /_admin/transcript, /_admin/calls (GET or POST)."""
        params: dict[str, Any] = dict(request.query)
        if request.method == "POST" and request.body_exists:
            if request.content_type == "application/json":
                with contextlib.suppress(ValueError):
                    body = json.loads(await request.text())
                    if isinstance(body, dict):
                        params.update(body)
            else:
                params.update({k: v for k, v in (await request.post()).items() if isinstance(v, str)})
        action = request.match_info["action"]
        try:
            result = self._admin(action, params)
        except (KeyError, ValueError, AssertionError) as exc:
            return web.json_response({"ok": False, "description": f"{type(exc).__name__}: {exc}"}, status=400)
        if result is None:
            return web.json_response(
                {"ok": False, "description": f"unknown admin action {action!r}"}, status=404
            )
        return web.json_response({"ok": True, "result": result}, dumps=pretty_json)

    def _admin(self, action: str, params: dict[str, Any]) -> Any:
        if action == "send":
            user = self._admin_user(params)
            return {"message_id": self.send_text(user, str(params["text"]))}
        if action == "press":
            user = self._admin_user(params)
            message_id = int(params["message_id"])
            data = params.get("data")
            if data is None:
                stored = self._bot_messages.get((user.id, message_id))
                if stored is None:
                    raise KeyError(f"no bot message {message_id} in chat {user.id}")
                data = stored.callback_data(str(params["button"]))
            return {"query_id": self.press(user, message_id, str(data))}
        if action == "messages":
            return [message.as_dict() for message in self.messages(int(params["chat_id"]))]
        if action == "transcript":
            return [message.as_dict() for message in self.transcript(int(params["chat_id"]))]
        if action == "calls":
            limit = int(params.get("limit", 20))
            return [asdict(call) for call in self.calls[-limit:]]
        return None

    def _admin_user(self, params: dict[str, Any]) -> FakeUser:
        user_id = int(params["user_id"])
        user = self._users.get(user_id) or FakeUser(id=user_id)
        if params.get("lang"):
            user.language_code = str(params["lang"])
        if params.get("first_name"):
            user.first_name = str(params["first_name"])
        if params.get("username"):
            user.username = str(params["username"])
        return user
