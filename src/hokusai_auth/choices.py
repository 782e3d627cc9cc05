"""The vocabulary's enumerations (``hokusai._vocabulary``) as pydantic field types.

Checked as the ``Literal`` of the enum's values (same schema, same error messages, so what OpenAPI publishes and
clients were built against does not change), then turned into the enum member, so code reads the vocabulary's
type. An enum field would instead be published as a shared component, which request-body schemas embedded in an
operation (``ValidateRequest``) cannot reference.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import GetPydanticSchema
from pydantic_core import core_schema

from hokusai._vocabulary import Environment, Plan


def literal_of(values: type[StrEnum]) -> GetPydanticSchema:
    members = {value.value: value for value in values}
    return GetPydanticSchema(
        lambda _type, _handler: core_schema.no_info_after_validator_function(
            members.__getitem__,
            core_schema.literal_schema(list(members)),
            serialization=core_schema.plain_serializer_function_ser_schema(str, when_used="always"),
        )
    )


EnvironmentChoice = Annotated[Environment, literal_of(Environment)]
PlanChoice = Annotated[Plan, literal_of(Plan)]
