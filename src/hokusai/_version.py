"""The installed distribution's version, for the User-Agent and ``hokusai --version``."""

from __future__ import annotations

from importlib import metadata

try:
    __version__ = metadata.version("hokusai")
except metadata.PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"
