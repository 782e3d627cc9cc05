"""The installed distribution's version, for the User-Agent and ``hokusai --version``.

The distribution is ``hokusai-ml-platform`` (``hokusai`` on PyPI is an unrelated project); the import name and the
command are ``hokusai``.
"""

from __future__ import annotations

from importlib import metadata

DISTRIBUTION = "hokusai-ml-platform"

try:
    __version__ = metadata.version(DISTRIBUTION)
except metadata.PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"
