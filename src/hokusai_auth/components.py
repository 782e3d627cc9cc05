"""What the app's lifespan built (runtime.py), found by type: how a route reaches its service.

A feature's routes ask for their own service, ``Annotated[KeyService, Depends(provided(KeyService))]``, instead of
the runtime that holds every service. The runtime imports every feature to build it; were the features to import
the runtime back, no package could be understood without all the others.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from starlette.requests import Request

T = TypeVar("T")


class Components:
    def __init__(self, *parts: object) -> None:
        self._by_type: dict[type[Any], object] = {type(part): part for part in parts}

    def get(self, kind: type[T]) -> T:
        part = self._by_type.get(kind)
        if not isinstance(part, kind):
            raise LookupError(f"this app was built without a {kind.__name__}")
        return part


def components_of(app: Any) -> Components:
    """The app's components; the lifespan puts them on ``app.state`` before the first request."""
    components: Components = app.state.components
    return components


def provided(kind: type[T]) -> Callable[[Request], T]:
    """A FastAPI dependency that answers the app's ``kind``."""

    def component(request: Request) -> T:
        return components_of(request.app).get(kind)

    component.__name__ = f"provided_{kind.__name__}"
    return component
