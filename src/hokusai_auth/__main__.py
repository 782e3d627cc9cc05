"""The ``hokusai-auth`` command's entry point, and ``python -m hokusai_auth``.

The service ships in the same distribution as the SDK (``hokusai-ml-platform``) but its dependencies come with the
``[server]`` extra, so a base ``pip install hokusai-ml-platform`` has this command without FastAPI, SQLAlchemy or
pydantic. This module imports nothing of the service until it knows whether it can: a missing dependency is one
line saying what to install, not a traceback.
"""

from __future__ import annotations

import sys

INSTALL_HINT = "pip install 'hokusai-ml-platform[server]'"


def main() -> None:
    try:
        from hokusai_auth.cli import main as run
    except ModuleNotFoundError as exc:
        missing = (exc.name or "").partition(".")[0]
        if not missing or missing in {"hokusai", "hokusai_auth"}:
            raise  # our own module is missing: a broken install or a bug, not the extra
        print(f"hokusai-auth: the service is not installed ({missing} is missing): {INSTALL_HINT}", file=sys.stderr)
        raise SystemExit(1) from None
    run()


if __name__ == "__main__":
    main()
