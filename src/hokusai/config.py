"""The SDK's settings, as the contract names them: ``get_mlflow_status()``, ``configure()``, ``Config``.

Settings come from arguments, then ``hokusai.setup()``/``configure()``, then the ``HOKUSAI_*`` environment, then a
profile of ``~/.hokusai/config`` (``hokusai auth login`` writes it), then defaults. The implementation is private
(``hokusai._config``, ``hokusai._mlflow_status``); this module is the public face.
"""

from __future__ import annotations

from hokusai._config import Config, InsecureConfigWarning, configure, reset
from hokusai._mlflow_status import get_mlflow_status

__all__ = ["Config", "InsecureConfigWarning", "configure", "get_mlflow_status", "reset"]
