"""Reconciliation: find the events a provider never delivered by reading its events API.

Webhooks fail silently: an endpoint down past the provider's retry window, a WAF or DNS mistake,
a disabled endpoint, a secret rotated too early. For every source whose entry in the sources
secret has API credentials (``"api": {...}``, see :mod:`.credentials`), the scheduled reconciler
lists the provider's events since a per-source cursor (:mod:`.cursor`) and ingests each one that is
not stored yet through the delivery path (:func:`chalicelib.ingest.store_and_queue`): same record
key, same queue, same processing, marked ``origin: reconciled``. :mod:`.run` is the loop, the
provider halves are ``chalicelib/providers/<name>/events_api.py``; docs/RECONCILIATION.md says how
to operate it.

Nothing here is imported by the receiver: its cold start does not pay for the API clients.
"""
