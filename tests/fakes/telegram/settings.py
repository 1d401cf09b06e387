"""Bot settings: commands per scope and language, the menu button, name and descriptions, getMe."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, Literal

from tests.fakes.telegram.errors import bad_request
from tests.fakes.telegram.protocol import INT_RE
from tests.fakes.telegram.records import Handler
from tests.fakes.telegram.state import FakeState

_SCOPE_TYPES = frozenset(
    {
        "default",
        "all_private_chats",
        "all_group_chats",
        "all_chat_administrators",
        "chat",
        "chat_administrators",
        "chat_member",
    }
)
BotTextField = Literal["name", "description", "short_description"]
_BOT_TEXT_LIMITS = {"name": 64, "description": 512, "short_description": 120}
_COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")
_LANGUAGE_RE = re.compile(r"[a-z]{2}")


class BotSettingsMixin(FakeState):
    """Per-bot settings, recorded so tests can check them."""

    def commands(
        self, language_code: str | None = None, *, scope: Mapping[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """The command list stored for that (scope, language_code); default scope unless given."""
        return list(self._commands.get((self._scope_key(scope), language_code or ""), []))

    def menu_button(self, chat_id: int | None = None) -> dict[str, Any] | None:
        """The menu button set for the chat (None: the default for all chats), if any was set."""
        return self._menu_buttons.get(chat_id)

    def description(self, language_code: str | None = None) -> str:
        """The description set with setMyDescription for exactly that language ("" if none; no fallback)."""
        return self.bot_text("description", language_code)

    def short_description(self, language_code: str | None = None) -> str:
        """The short description set with setMyShortDescription for exactly that language ("" if none)."""
        return self.bot_text("short_description", language_code)

    def bot_text(self, field: BotTextField, language_code: str | None = None) -> str:
        """``name``, ``description`` or ``short_description`` as set for exactly that language ("": default)."""
        return self._bot_texts.get((field, language_code or ""), "")

    # ------------------------------------------------------------------------------------ bot settings

    def _scope_key(self, scope: Any) -> str:
        if scope is None or scope == "":
            scope = {"type": "default"}
        if not isinstance(scope, Mapping) or scope.get("type") not in _SCOPE_TYPES:
            raise bad_request("can't parse BotCommandScope JSON object")
        normalized = dict(scope)
        for key in ("chat_id", "user_id"):
            value = normalized.get(key)
            if isinstance(value, str) and INT_RE.fullmatch(value):
                normalized[key] = int(value)
        return json.dumps(normalized, sort_keys=True)

    @staticmethod
    def _language(p: dict[str, Any]) -> str:
        language = p.get("language_code") or ""
        if language and (not isinstance(language, str) or not _LANGUAGE_RE.fullmatch(language)):
            raise bad_request("LANG_CODE_INVALID")
        return str(language)

    async def _set_my_commands(self, p: dict[str, Any]) -> bool:
        commands = p.get("commands")
        if not isinstance(commands, list):
            raise bad_request("can't parse commands JSON object")
        if len(commands) > 100:
            raise bad_request("too many commands")
        stored: list[dict[str, Any]] = []
        for item in commands:
            if not isinstance(item, dict):
                raise bad_request("can't parse BotCommand JSON object")
            command, description = item.get("command"), item.get("description")
            if not isinstance(command, str) or not _COMMAND_RE.fullmatch(command):
                raise bad_request("BOT_COMMAND_INVALID")
            if not isinstance(description, str) or not 1 <= len(description.strip()) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
            stored.append({"command": command, "description": description})
        key = (self._scope_key(p.get("scope")), self._language(p))
        if stored:
            self._commands[key] = stored
        else:
            self._commands.pop(key, None)
        return True

    async def _get_my_commands(self, p: dict[str, Any]) -> list[dict[str, Any]]:
        key = (self._scope_key(p.get("scope")), self._language(p))
        return list(self._commands.get(key, []))

    async def _delete_my_commands(self, p: dict[str, Any]) -> bool:
        self._commands.pop((self._scope_key(p.get("scope")), self._language(p)), None)
        return True

    async def _set_chat_menu_button(self, p: dict[str, Any]) -> bool:
        chat_id = self._chat(p) if p.get("chat_id") not in (None, "") else None
        button = p.get("menu_button") or {"type": "default"}
        if not isinstance(button, dict) or button.get("type") not in ("default", "commands", "web_app"):
            raise bad_request("can't parse menu button JSON object")
        self._menu_buttons[chat_id] = button
        return True

    async def _get_chat_menu_button(self, p: dict[str, Any]) -> dict[str, Any]:
        chat_id = self._chat(p) if p.get("chat_id") not in (None, "") else None
        return self._menu_buttons.get(chat_id) or self._menu_buttons.get(None) or {"type": "default"}

    def _bot_text_setter(self, name: str) -> Handler:
        async def setter(p: dict[str, Any]) -> bool:
            language = self._language(p)
            value = p.get(name)
            text = "" if value is None else value if isinstance(value, str) else json.dumps(value)
            if len(text) > _BOT_TEXT_LIMITS[name]:
                # The Bot API documents the limits; the wording of the refusal is assumed.
                raise bad_request(f"{name.replace('_', ' ')} is too long")
            if text:
                self._bot_texts[(name, language)] = text
            else:  # "Pass an empty string to remove the dedicated ... for the given language."
                self._bot_texts.pop((name, language), None)
            return True

        return setter

    def _bot_text_getter(self, name: str) -> Handler:
        async def getter(p: dict[str, Any]) -> dict[str, str]:
            language = self._language(p)
            value = self._bot_texts.get((name, language)) or self._bot_texts.get((name, ""), "")
            if name == "name" and not value:
                value = self.bot_name
            return {name: value}

        return getter

    async def _get_me(self, p: dict[str, Any]) -> dict[str, Any]:
        return {
            **self._bot_user(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _true(self, p: dict[str, Any]) -> bool:
        return True
