"""The CDK app that deploys payment-webhooks: one stack per stage, the Chalice app inside it.

Nothing in here ships in a Lambda: Chalice packages only ``app.py`` and ``chalicelib/``. The entry
point is ``cdk_app.py`` (not ``app.py``: Chalice imports the module named ``app`` from the project
root, and an entry point of that name would shadow the real application).
"""
