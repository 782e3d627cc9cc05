"""Hokusai Auth: API keys, validation, identity and access control for the Hokusai platform."""

__version__ = "0.1.0"
