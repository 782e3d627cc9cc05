"""Operators on users: list, read, disable and enable (admin token)."""
