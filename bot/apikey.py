"""What an SMSPVA API key looks like: the one place both /key and the paste guard read it from."""

from __future__ import annotations

import re

# SMSPVA keys are opaque alphanumeric tokens (about 30 characters). Anything with spaces or far
# outside that length is certainly not a key, and /key refuses it without asking upstream.
KEY_RE = re.compile(r"^[A-Za-z0-9_-]{8,128}$")

# A key pasted where no key is expected (a search box, the time zone prompt...) is deleted at once.
# That check must not eat ordinary words, so it is stricter than KEY_RE: a token of at least
# 20 characters of the key alphabet mixing letters and digits (service names, time zones, order
# ids and SMS codes never do), or anything written as `apikey=...` (a pasted API URL).
# Assumption: SMSPVA's key format is not documented; real keys are ~30 mixed-case letters and digits.
_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{20,128}")
_URL_KEY_RE = re.compile(r"apikey=[A-Za-z0-9_-]{8,}", re.IGNORECASE)
_LETTER = re.compile(r"[A-Za-z]")
_DIGIT = re.compile(r"[0-9]")


def looks_like_key(text: str) -> bool:
    """True when the text carries something that is probably an API key."""
    if _URL_KEY_RE.search(text):
        return True
    for token in re.split(r"[^A-Za-z0-9_-]+", text):
        if _TOKEN_RE.fullmatch(token) and _LETTER.search(token) and _DIGIT.search(token):
            return True
    return False
