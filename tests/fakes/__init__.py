"""Fake upstream servers for tests: SMSPVA rent API, Telegram Bot API (test code only)."""
