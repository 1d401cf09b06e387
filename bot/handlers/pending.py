"""The action a user was on when they were asked for their key, kept in their FSM data so that
linking the key resumes it (the summary reappears with Confirm) instead of starting over.

Stored as the callback data of the button that led there (or the typed command), with the time:
an action older than PENDING_SECONDS is not resumed (a key linked much later is a new errand).
The resuming itself lives in bot/handlers/account.py (it needs the screens' renderers).
"""

from __future__ import annotations

import time

from aiogram.fsm.context import FSMContext

PENDING_SECONDS = 30 * 60
_ACTION = "pending_action"
_AT = "pending_at"


async def remember(state: FSMContext, action: str | None) -> None:
    if action:
        await state.update_data({_ACTION: action[:128], _AT: time.time()})


async def take(state: FSMContext) -> str | None:
    """The pending action, once: it is forgotten as it is taken (or when stale)."""
    data = await state.get_data()
    action, at = data.get(_ACTION), data.get(_AT)
    if action is None:
        return None
    await state.update_data({_ACTION: None, _AT: None})
    if not isinstance(action, str) or not isinstance(at, int | float) or time.time() - at > PENDING_SECONDS:
        return None
    return action
