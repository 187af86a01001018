"""The payments domain: one normalized event and one order-proof state per payment.

- :mod:`~chalicelib.payments.model`: the :class:`PaymentEvent` (schema v1, ``docs/``) and the
  canonical kinds and statuses;
- :mod:`~chalicelib.payments.money`: ISO 4217 exponents and exact (``Decimal``) conversions;
- :mod:`~chalicelib.payments.fields`: small readers the provider normalizers share;
- :mod:`~chalicelib.payments.state`: the pure state machine, a fold over a set of facts;
- :mod:`~chalicelib.payments.store`: the payment records in DynamoDB (optimistic concurrency);
- :mod:`~chalicelib.payments.publisher`: the payment-events SNS topic.

Each provider's ``normalize`` lives in its own module under :mod:`chalicelib.providers`.
Importing this package imports nothing else: each module is imported where it is used.
"""
