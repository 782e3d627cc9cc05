"""Form fields (always text) into the request models the API uses, so a page and the API refuse the same input
with the same words. A refusal names the field and never quotes the value."""

from __future__ import annotations

import re
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

Model = TypeVar("Model", bound=BaseModel)
_LIST_SEPARATORS = re.compile(r"[\s,]+")


class FormError(ValueError):
    """What is wrong with a submitted form, field by field, for the page to show."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__("; ".join(f"{name}: {problem}" for name, problem in problems.items()))
        self.problems = problems


def optional_int(fields: dict[str, str], name: str, problems: dict[str, str]) -> int | None:
    text = fields.get(name, "").strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        problems[name] = "must be a whole number"
        return None


def word_list(fields: dict[str, str], name: str) -> list[str] | None:
    """A list typed into one box, separated by commas, spaces or lines; None when left empty."""
    items = [item for item in _LIST_SEPARATORS.split(fields.get(name, "")) if item]
    return items or None


def model(kind: type[Model], values: dict[str, Any], problems: dict[str, str]) -> Model:
    """``kind`` from ``values`` (left-out and empty values are left to the model's defaults)."""
    present = {name: value for name, value in values.items() if value is not None and value != ""}
    try:
        built = kind.model_validate(present)
    except ValidationError as exc:
        for error in exc.errors(include_input=False):
            name = str(error["loc"][0]) if error["loc"] else "form"
            problems.setdefault(name, str(error["msg"]).removeprefix("Value error, "))
        raise FormError(problems) from None
    if problems:
        raise FormError(problems)
    return built
