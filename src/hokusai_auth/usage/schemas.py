"""Request and response models of usage and billing. Ingest refuses unknown fields (a misspelt
``prediction_count`` must not silently bill nothing) and takes strict integers."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from hokusai_auth.choices import PlanChoice
from hokusai_auth.keys.schemas import ServiceId
from hokusai_auth.request_model import RequestModel
from hokusai_auth.usage.models import ENDPOINT_MAX, IDEMPOTENCY_KEY_MAX

MAX_RESPONSE_TIME_MS = 86_400_000  # a day
MAX_PREDICTIONS = 1_000_000_000
MAX_COMPUTE_MS = 10**12


class UsageRecordIn(RequestModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    service_id: ServiceId
    endpoint: Annotated[str, Field(min_length=1, max_length=ENDPOINT_MAX, description="e.g. /api/v1/predict")]
    status_code: Annotated[StrictInt, Field(ge=100, le=599)]
    response_time_ms: Annotated[StrictInt, Field(ge=0, le=MAX_RESPONSE_TIME_MS)]
    predictions_count: Annotated[StrictInt, Field(ge=0, le=MAX_PREDICTIONS)] = 0
    compute_ms: Annotated[StrictInt, Field(ge=0, le=MAX_COMPUTE_MS)] = 0
    idempotency_key: Annotated[str, Field(min_length=1, max_length=IDEMPOTENCY_KEY_MAX)] | None = Field(
        None, description="records with the same key (per API key) count once; remembered for 48 hours"
    )


class UsageRecorded(BaseModel):
    message: str = "Usage recorded successfully"


class EndpointCount(BaseModel):
    endpoint: str
    count: int


class UsageStats(BaseModel):
    key_id: uuid.UUID
    period: str = Field(description="YYYY-MM (UTC)")
    total_requests: int
    total_predictions: int
    total_compute_ms: int
    average_response_time_ms: float
    p95_response_time_ms: int = Field(description="upper bound of the histogram bucket holding the 95th percentile")
    error_rate: float = Field(description="share of requests answered with status >= 400, 0..1")
    top_endpoints: list[EndpointCount]


class ServiceDay(BaseModel):
    requests: int
    predictions: int
    compute_ms: int
    avg_response_time_ms: float


class UsageAggregate(BaseModel):
    start_date: date
    end_date: date
    usage_by_date: dict[str, dict[str, ServiceDay]] = Field(description="date -> service -> usage; days with usage")


class CurrentUsage(BaseModel):
    requests: int
    predictions: int
    compute_ms: int


class BillingInfo(BaseModel):
    key_id: uuid.UUID
    billing_plan: PlanChoice
    period: str = Field(description="the current billing cycle, YYYY-MM (UTC)")
    current_usage: CurrentUsage
    monthly_limit: int | None = Field(description="the key's monthly_prediction_limit (null: none)")
    included_predictions: int
    overage_charges: float = Field(description="US dollars, exact to the tenth of a cent (e.g. 12.345)")
    overage_charges_micros: int = Field(description="the same amount in micro-dollars")
    next_billing_date: datetime = Field(description="the 1st of next month, 00:00 UTC")
