"""Hokusai SDK."""
