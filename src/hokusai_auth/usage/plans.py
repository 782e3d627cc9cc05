"""Billing plans and overage, in integer micro-dollars: money is never a float here.

Each plan includes a number of predictions per calendar month (UTC, the cycle starts on the 1st); every
prediction beyond that costs $0.001 (1,000 micro-dollars).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType

from hokusai._vocabulary import Plan

MICROS_PER_DOLLAR = 1_000_000
OVERAGE_MICROS_PER_PREDICTION = 1_000  # $0.001

INCLUDED_PREDICTIONS: MappingProxyType[str, int] = MappingProxyType(
    {
        Plan.FREE: 1_000,
        Plan.STARTER: 50_000,
        Plan.PRO: 500_000,
        Plan.ENTERPRISE: 5_000_000,
    }
)


@dataclass(frozen=True, slots=True)
class Charge:
    plan: str
    included_predictions: int
    overage_predictions: int
    overage_micros: int

    @property
    def overage_dollars(self) -> Decimal:
        return Decimal(self.overage_micros) / MICROS_PER_DOLLAR


def charge_for(plan: str, predictions: int) -> Charge:
    """What a month with ``predictions`` predictions costs beyond the plan (KeyError for an unknown plan)."""
    included = INCLUDED_PREDICTIONS[plan]
    over = max(0, predictions - included)
    return Charge(plan, included, over, over * OVERAGE_MICROS_PER_PREDICTION)


def dollars_as_json_number(micros: int) -> float:
    """Micro-dollars as a JSON number of dollars that reads back as the exact decimal (12.345, not 12.3449999).

    Overage is a whole number of tenths of a cent, so it has at most 3 decimals; any such amount below 10**12
    dollars has at most 15 significant digits, and a float prints such a decimal exactly (shortest repr). The
    check below guards that reasoning rather than trusting it.
    """
    exact = Decimal(micros) / MICROS_PER_DOLLAR
    number = micros / MICROS_PER_DOLLAR
    if Decimal(repr(number)) != exact:
        raise ValueError(f"{micros} micro-dollars cannot be shown exactly as a JSON number")
    return number
