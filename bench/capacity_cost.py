"""The table's capacity modes priced side by side (``tableCapacity``, docs/DEPLOYING.md): on demand
per request, as the main cost table prices it, and provisioned with auto scaling settled at its
target utilization. bench/cost.py builds a :class:`TableCapacityCost` from its own lines."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from bench import prices
from bench.prices import Line, dollars

HOURS_PER_MONTH = 730
"""How AWS prices an hourly resource for a month (8,760 hours / 12)."""


@dataclass(frozen=True)
class TableCapacityCost:
    """The DynamoDB lines of one scenario in both capacity modes (``tableCapacity``).

    Provisioned: auto scaling keeps consumed / provisioned at ``target_utilization`` percent, so at a
    sustained rate the table holds ``units per webhook x rate / utilization`` units, rounded up, for
    every hour of the month, and a million webhooks pay their share of those hours. The units per
    webhook are the on-demand lines' own (measured calls and item sizes), so both modes price the
    same writes and reads.
    """

    webhooks_per_second: float
    target_utilization: float
    write_units_per_webhook: float
    read_units_per_webhook: float
    on_demand_lines: tuple[Line, ...]
    """The scenario's DynamoDB request lines (WRU and RRU), as the main table prices them."""
    total_on_demand: float
    """The scenario's total, dollars per million webhooks, with the table on demand."""

    @property
    def write_capacity_units(self) -> int:
        return provisioned_units(self.write_units_per_webhook, self.webhooks_per_second, self.target_utilization)

    @property
    def read_capacity_units(self) -> int:
        return provisioned_units(self.read_units_per_webhook, self.webhooks_per_second, self.target_utilization)

    def provisioned_lines(self) -> list[Line]:
        webhooks_per_hour = self.webhooks_per_second * 3600
        target = f"{self.target_utilization:g} % target utilization"
        return [
            Line("DynamoDB", f"provisioned writes: {self.write_capacity_units} WCU ({target})",
                 self.write_capacity_units / webhooks_per_hour, "WCU-hours", prices.DYNAMODB_PROVISIONED_WCU_HOUR,
                 f"measured {self.write_units_per_webhook:.2f} WRU per webhook x {self.webhooks_per_second:g}/s "
                 f"/ {self.target_utilization:g} %, {HOURS_PER_MONTH} h a month"),
            Line("DynamoDB", f"provisioned reads: {self.read_capacity_units} RCU ({target})",
                 self.read_capacity_units / webhooks_per_hour, "RCU-hours", prices.DYNAMODB_PROVISIONED_RCU_HOUR,
                 f"measured {self.read_units_per_webhook:.2f} RRU per webhook x "
                 f"{self.webhooks_per_second:g}/s / {self.target_utilization:g} %"),
        ]

    @property
    def dynamodb_on_demand(self) -> float:
        return sum(line.dollars_per_million for line in self.on_demand_lines)

    @property
    def dynamodb_provisioned(self) -> float:
        return sum(line.dollars_per_million for line in self.provisioned_lines())

    @property
    def total_provisioned(self) -> float:
        return self.total_on_demand - self.dynamodb_on_demand + self.dynamodb_provisioned

    @property
    def monthly_provisioned(self) -> float:
        """Dollars a month for the provisioned units at this rate (the table's hours, not per webhook)."""
        return HOURS_PER_MONTH * (self.write_capacity_units * prices.DYNAMODB_PROVISIONED_WCU_HOUR.dollars
                                  + self.read_capacity_units * prices.DYNAMODB_PROVISIONED_RCU_HOUR.dollars)


def provisioned_units(units_per_webhook: float, webhooks_per_second: float, target_utilization: float) -> int:
    """The capacity auto scaling settles at: consumed units a second / the target share, rounded up."""
    return math.ceil(units_per_webhook * webhooks_per_second / (target_utilization / 100))


def capacity_details(capacity: TableCapacityCost) -> dict[str, Any]:
    return {
        "webhooksPerSecond": capacity.webhooks_per_second,
        "targetUtilizationPercent": capacity.target_utilization,
        "writeUnitsPerWebhook": round(capacity.write_units_per_webhook, 3),
        "readUnitsPerWebhook": round(capacity.read_units_per_webhook, 3),
        "onDemand": {"dynamoDbDollarsPerMillion": round(capacity.dynamodb_on_demand, 3),
                     "totalDollarsPerMillion": round(capacity.total_on_demand, 2)},
        "provisioned": {
            "writeCapacityUnits": capacity.write_capacity_units,
            "readCapacityUnits": capacity.read_capacity_units,
            "dynamoDbDollarsPerMonth": round(capacity.monthly_provisioned, 2),
            "dynamoDbDollarsPerMillion": round(capacity.dynamodb_provisioned, 3),
            "totalDollarsPerMillion": round(capacity.total_provisioned, 2),
            "lines": [{"what": line.what, "unitsPerWebhook": line.units_per_webhook, "unit": line.unit,
                       "price": f"{dollars(line.price.dollars)} per {line.price.per}",
                       "dollarsPerMillion": round(line.dollars_per_million, 3), "basis": line.basis}
                      for line in capacity.provisioned_lines()],
        },
    }


def capacity_markdown(capacity: dict[str, Any]) -> list[str]:
    """The DynamoDB lines at 100 a second in both capacity modes, each with the scenario's total."""
    on_demand, provisioned = capacity["onDemand"], capacity["provisioned"]
    rate = f"{capacity['webhooksPerSecond']:g}"
    lines = [
        f"The table's capacity mode at {rate} webhooks a second (`tableCapacity`, docs/DEPLOYING.md): on demand "
        "is what both stages ship and what the totals above include; provisioned is priced with auto scaling "
        f"settled at its target utilization ({capacity['targetUtilizationPercent']:g} %), for the same "
        f"{capacity['writeUnitsPerWebhook']:.2f} write and {capacity['readUnitsPerWebhook']:.2f} read units per "
        "webhook:",
        "",
        f"| mode | DynamoDB capacity | $ per million: DynamoDB | $ per million: total at {rate}/s | basis |",
        "| --- | --- | ---: | ---: | --- |",
        f"| on demand (default) | per request | {on_demand['dynamoDbDollarsPerMillion']:.2f} | "
        f"**{on_demand['totalDollarsPerMillion']:.2f}** | the DynamoDB request lines above |",
        f"| provisioned, auto scaling | {provisioned['writeCapacityUnits']} WCU + "
        f"{provisioned['readCapacityUnits']} RCU (${provisioned['dynamoDbDollarsPerMonth']:.2f} a month) | "
        f"{provisioned['dynamoDbDollarsPerMillion']:.2f} | **{provisioned['totalDollarsPerMillion']:.2f}** | "
        + "; ".join(line["basis"] for line in provisioned["lines"]) + " |",
        "",
        "Provisioned holds only while the rate is sustained: its floor is paid at any rate, and a burst above "
        "the provisioned units is throttled until auto scaling catches up (minutes), then retried by the "
        "provider. Auto scaling's own CloudWatch alarms are not counted (a few alarms per table).",
        "",
    ]
    return lines
