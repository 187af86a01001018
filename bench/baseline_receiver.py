"""The receiver of the system we replace, reduced to its import-time work: boto3, the X-Ray SDK
and ``patch_all()``. Only imported by the cold-start benchmark, in a process of its own."""

import boto3  # noqa: F401
from aws_xray_sdk.core import patch_all

patch_all()
