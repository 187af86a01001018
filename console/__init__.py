"""The operator console: a small server-rendered web app over a stage's records, payments and queues.

It is an operator's tool on the operator's machine (``make run`` starts it beside the local stack,
``python -m ops console --stage <stage>`` serves it against a deployed stage with the operator's
own AWS credentials). It lives outside ``chalicelib/`` so that it never ships in the Lambda package
(tests/console/test_packaging.py), and it only ever listens on 127.0.0.1.
"""
