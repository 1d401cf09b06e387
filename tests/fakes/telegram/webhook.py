"""setWebhook, deleteWebhook, getWebhookInfo and the delivery of updates to the webhook, retried with backoff."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
from collections.abc import Mapping
from typing import Any

from aiohttp import BodyPartReader, ClientError, ClientSession, ClientTimeout, MultipartReader

from tests.fakes.telegram.errors import TERMINATED_BY_SET_WEBHOOK, bad_request
from tests.fakes.telegram.records import Described, LostAnswer, Webhook
from tests.fakes.telegram.updates import UpdatesMixin

_SECRET_RE = re.compile(r"[A-Za-z0-9_-]{1,256}")


class WebhookMixin(UpdatesMixin):
    """Webhook settings and delivery (one update at a time, in order, as Telegram does)."""

    # ------------------------------------------------------------------------------------------- webhook

    async def _set_webhook(self, p: dict[str, Any]) -> Described:
        url = str(p.get("url") or "").strip()
        if not url:
            return await self._delete_webhook(p)
        if not re.fullmatch(r"https?://[^\s/]+(?:/\S*)?", url, flags=re.IGNORECASE):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        secret = p.get("secret_token")
        if secret is not None and (not isinstance(secret, str) or not _SECRET_RE.fullmatch(secret)):
            raise bad_request("secret token contains unallowed characters")
        max_connections = p.get("max_connections")
        if not isinstance(max_connections, int) or not 1 <= max_connections <= 100:
            max_connections = 40
        self._set_allowed_updates(p.get("allowed_updates"))
        if p.get("drop_pending_updates"):
            self._updates.clear()
        previous = self._webhook
        self._webhook = Webhook(
            url=url,
            secret_token=secret or None,
            max_connections=max_connections,
            ip_address=str(p["ip_address"]) if p.get("ip_address") else None,
        )
        self._poll_generation += 1
        self._poll_terminated_by = TERMINATED_BY_SET_WEBHOOK
        self._notify()
        if previous is not None and previous.url == url:
            return Described(True, "Webhook is already set")
        return Described(True, "Webhook was set")

    async def _delete_webhook(self, p: dict[str, Any]) -> Described:
        if p.get("drop_pending_updates"):
            self._updates.clear()
        if self._webhook is None:
            return Described(True, "Webhook is already deleted")
        self._webhook = None
        self._notify()
        return Described(True, "Webhook was deleted")

    async def _get_webhook_info(self, p: dict[str, Any]) -> dict[str, Any]:
        info: dict[str, Any] = {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self._webhook is not None:
            info["max_connections"] = self._webhook.max_connections
            if self._webhook.ip_address:
                info["ip_address"] = self._webhook.ip_address
            if self._webhook.last_error_date is not None:
                info["last_error_date"] = self._webhook.last_error_date
                info["last_error_message"] = self._webhook.last_error_message
        if self._allowed_updates:
            info["allowed_updates"] = list(self._allowed_updates)
        return info

    async def _deliver_webhooks(self) -> None:
        """POST pending updates, in order, to the webhook; retry failures with a growing delay."""
        delay = self.webhook_retry_delay
        async with ClientSession(timeout=ClientTimeout(total=10)) as session:
            while not self._stopping:
                changed = self._changed
                webhook = self._webhook
                batch = self._deliverable(1) if webhook is not None else []
                if webhook is None or not batch:
                    await changed.wait()
                    continue
                update = batch[0]
                error = await self._post_update(session, webhook, update)
                if error is None:
                    delay = self.webhook_retry_delay
                    self._updates = [u for u in self._updates if u["update_id"] != update["update_id"]]
                    continue
                webhook.last_error_date = int(time.time())
                webhook.last_error_message = error
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop_event.wait(), delay)
                delay = min(delay * 2, self.webhook_retry_max_delay)

    async def _post_update(
        self, session: ClientSession, webhook: Webhook, update: dict[str, Any]
    ) -> str | None:
        """Deliver one update; None on success, else Telegram's last_error_message."""
        headers = {"Content-Type": "application/json"}
        if webhook.secret_token:
            headers["X-Telegram-Bot-Api-Secret-Token"] = webhook.secret_token
        try:
            async with session.post(webhook.url, data=json.dumps(update), headers=headers) as response:
                if not 200 <= response.status < 300:
                    return f"Wrong response from the webhook: {response.status} {response.reason}"
                reply = await self._read_webhook_reply(
                    response.headers, response.content, response.content_type
                )
        except TimeoutError:
            return "Read timeout expired"
        except (ClientError, OSError) as exc:
            return f"Connection failed: {exc}"
        if reply is not None:
            method = reply.pop("method", None)
            if isinstance(method, str):
                # The bot never sees the result of a call made in a webhook reply, lost or not.
                with contextlib.suppress(LostAnswer):
                    await self._call(method, self.token, reply)
        return None

    @staticmethod
    async def _read_webhook_reply(
        headers: Mapping[str, str], content: Any, content_type: str
    ) -> dict[str, Any] | None:
        """A method call in the webhook's answer (JSON or multipart form), as Telegram executes it."""
        if content_type == "application/json":
            try:
                reply = json.loads(await content.read())
            except ValueError:
                return None
            return reply if isinstance(reply, dict) else None
        if content_type == "multipart/form-data":
            fields: dict[str, Any] = {}
            reader = MultipartReader(headers, content)
            while True:
                part = await reader.next()
                if part is None:
                    break
                if isinstance(part, BodyPartReader) and part.name:
                    fields[part.name] = await part.text()
            return fields
        return None
