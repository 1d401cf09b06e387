"""Pure functions that build inline keyboards from data; texts come from gettext at call time."""
