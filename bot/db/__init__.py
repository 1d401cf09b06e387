"""Storage: one aiosqlite connection and a repository per concern."""

from bot.db.database import Database, DatabaseError
from bot.db.users import UserRow, UsersRepo

__all__ = ["Database", "DatabaseError", "UserRow", "UsersRepo"]
