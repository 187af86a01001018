"""The webhook archive bucket, as synthesized for each stage (chalicelib/archive.py writes it)."""

from __future__ import annotations

import json

from aws_cdk.assertions import Match

from chalicelib.archive import POINTER_PREFIX, RECORD_PREFIX
from infrastructure.storage import ARCHIVE_COLD_AFTER_DAYS
from tests.infrastructure.conftest import Synthesized


def bucket(stage: Synthesized) -> tuple[str, dict]:
    return stage.one("AWS::S3::Bucket")


def test_archive_is_encrypted_with_the_stage_key_versioned_and_private(stage: Synthesized) -> None:
    _, resource = bucket(stage)
    properties = resource["Properties"]
    key = stage.one("AWS::KMS::Key")[0]
    [rule] = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule == {
        "BucketKeyEnabled": True,
        "ServerSideEncryptionByDefault": {"KMSMasterKeyID": {"Fn::GetAtt": [key, "Arn"]}, "SSEAlgorithm": "aws:kms"},
    }
    assert properties["VersioningConfiguration"] == {"Status": "Enabled"}
    assert properties["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True, "BlockPublicPolicy": True, "IgnorePublicAcls": True, "RestrictPublicBuckets": True,
    }
    prefix = f'{{"Fn::Join": ["", ["payment-webhooks-{stage.stage}-archive-"'
    assert json.dumps(properties["BucketName"]).startswith(prefix)


def test_archived_records_go_cold_but_stay_instantly_readable_and_never_expire(stage: Synthesized) -> None:
    rules = {rule["Id"]: rule for rule in bucket(stage)[1]["Properties"]["LifecycleConfiguration"]["Rules"]}
    cold = rules["archived-records-to-glacier-ir"]
    assert cold["Prefix"] == RECORD_PREFIX  # not the pointers: a cold class bills 128 KB per object
    assert cold["ObjectSizeGreaterThan"] == 128 * 1024  # below it, a cold class costs more, not less
    assert cold["Transitions"] == [{"StorageClass": "GLACIER_IR", "TransitionInDays": ARCHIVE_COLD_AFTER_DAYS}]
    assert not any("ExpirationInDays" in rule for rule in rules.values())  # current versions are kept
    assert rules["old-versions"]["NoncurrentVersionExpiration"]["NoncurrentDays"] >= 30
    assert POINTER_PREFIX != RECORD_PREFIX and not POINTER_PREFIX.startswith(RECORD_PREFIX)


def test_the_bucket_policy_refuses_plain_http(stage: Synthesized) -> None:
    stage.template.has_resource_properties("AWS::S3::BucketPolicy", {
        "PolicyDocument": {"Statement": Match.array_with([Match.object_like({
            "Effect": "Deny", "Action": "s3:*", "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        })])},
    })


def test_archive_is_retained_in_prod_only(dev: Synthesized, prod: Synthesized) -> None:
    assert bucket(prod)[1]["DeletionPolicy"] == "Retain"
    assert bucket(dev)[1]["DeletionPolicy"] == "Delete"


def test_the_functions_are_told_the_bucket_and_the_stack_outputs_it(stage: Synthesized) -> None:
    logical_id, _ = bucket(stage)
    assert stage.json["Outputs"]["ArchiveBucketName"]["Value"] == {"Ref": logical_id}
    audit = stage.json["Resources"]["AuditChanges"]["Properties"]["Environment"]["Variables"]
    assert audit["ARCHIVE_BUCKET_NAME"] == {"Ref": logical_id}
