"""SMSPVA rent bot for Telegram."""
