"""Operator and developer tools (never shipped in the Lambda package): `python -m ops --help`."""
