"""Tests: fakes, client tests and end-to-end flows."""
