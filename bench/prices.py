"""The list prices the cost model uses: us-east-1, on-demand, no free tier, no discounts.

DATED: these are the public list prices as published on each service's AWS pricing page as of
PRICES_AS_OF (DynamoDB's on-demand prices are those after its November 2024 reduction). They
were not re-read when this table was last edited; re-check every line on aws.amazon.com/pricing
before relying on a figure. Tiered prices are the first tier's.
"""

from __future__ import annotations

from dataclasses import dataclass

PRICES_AS_OF = "2025-06"
REGION = "us-east-1"


@dataclass(frozen=True)
class Price:
    service: str
    item: str
    dollars: float
    per: str


API_GATEWAY_REST_PER_MILLION = Price("API Gateway", "REST API requests (first 333 M/month)", 3.50, "million requests")
WAF_REQUESTS_PER_MILLION = Price("WAF", "web ACL requests inspected", 0.60, "million requests")
LAMBDA_REQUESTS_PER_MILLION = Price("Lambda", "invocations", 0.20, "million requests")
LAMBDA_ARM64_GB_SECOND = Price("Lambda", "arm64 duration (first 7.5 B GB-s/month)", 0.0000133334, "GB-second")
DYNAMODB_WRITE_PER_MILLION = Price("DynamoDB", "on-demand write request units (1 per KB written)", 0.625, "million WRU")
DYNAMODB_READ_PER_MILLION = Price("DynamoDB", "on-demand read request units (1 per 4 KB, strongly consistent)", 0.125,
                                  "million RRU")
DYNAMODB_PROVISIONED_WCU_HOUR = Price("DynamoDB", "provisioned write capacity unit (1 write a second of up to 1 KB)",
                                      0.00065, "WCU-hour")
DYNAMODB_PROVISIONED_RCU_HOUR = Price("DynamoDB", "provisioned read capacity unit (1 strongly consistent read a second "
                                      "of up to 4 KB)", 0.00013, "RCU-hour")
"""Provisioned capacity, Standard table class, us-east-1: billed per unit and hour provisioned, used or
not. Source: https://aws.amazon.com/dynamodb/pricing/provisioned/ ("Provisioned capacity" tab; the
unit definitions were read there on 2026-12-01 from a stored copy, the dollar figures are the
long-standing us-east-1 list prices and were not visible in it: re-check them). Application Auto
Scaling itself is free; the CloudWatch alarms it creates for each scaled dimension are billed as
alarms (a few dollars a year), left out of the per-webhook figure."""
DYNAMODB_STORAGE_GB_MONTH = Price("DynamoDB", "storage, Standard table class", 0.25, "GB-month")
DYNAMODB_PITR_GB_MONTH = Price("DynamoDB", "continuous backups (point-in-time recovery)", 0.20, "GB-month")
SQS_REQUESTS_PER_MILLION = Price("SQS", "standard queue requests (each 64 KB chunk)", 0.40, "million requests")
SNS_PUBLISH_PER_MILLION = Price("SNS", "standard topic publishes (each 64 KB chunk; a PublishBatch is one)", 0.50,
                                "million requests")
KMS_KEY_MONTH = Price("KMS", "customer managed key", 1.00, "key-month")
KMS_REQUESTS_PER_10K = Price("KMS", "symmetric key requests", 0.03, "10,000 requests")
SECRETS_MANAGER_SECRET_MONTH = Price("Secrets Manager", "secret", 0.40, "secret-month")
SECRETS_MANAGER_CALLS_PER_10K = Price("Secrets Manager", "API calls", 0.05, "10,000 calls")
XRAY_TRACES_PER_MILLION = Price("X-Ray", "traces recorded", 5.00, "million traces")
CLOUDWATCH_LOGS_INGEST_GB = Price("CloudWatch Logs", "ingestion, Standard log class", 0.50, "GB")
CLOUDWATCH_LOGS_INGEST_IA_GB = Price("CloudWatch Logs", "ingestion, Infrequent Access log class", 0.25, "GB")
"""Half the Standard class's ingestion price since the class was introduced (November 2023).
Source: https://aws.amazon.com/cloudwatch/pricing/ (Logs tab, "Infrequent Access"), and the
CloudWatch Logs user guide's "Log classes" page; not re-read here (no internet): re-check it."""
WAF_WEB_ACL_MONTH = Price("WAF", "web ACL", 5.00, "ACL-month")
WAF_RULE_MONTH = Price("WAF", "rule or rule group", 1.00, "rule-month")

ALL = [value for value in dict(globals()).values() if isinstance(value, Price)]


@dataclass(frozen=True)
class Line:
    """A priced quantity per webhook: one row of the cost model (bench/cost.py)."""

    service: str
    what: str
    units_per_webhook: float
    unit: str
    price: Price
    basis: str
    """measured / model: where the units come from."""

    @property
    def dollars_per_million(self) -> float:
        per_unit = self.price.dollars
        if self.price.per.startswith("million"):
            per_unit /= 1_000_000
        elif self.price.per.startswith("10,000"):
            per_unit /= 10_000
        return self.units_per_webhook * per_unit * 1_000_000


def dollars(amount: float) -> str:
    return "$" + f"{amount:.10f}".rstrip("0").rstrip(".")
