"""The leak check itself must catch what it claims to catch."""

from __future__ import annotations

from tests import samples
from tests.leakcheck import leaks_in

LINE = '{"level":"INFO","message":"%s","timestamp":"2026-01-01T00:00:00.000Z"}'


def test_a_known_secret_in_an_app_log_line_is_a_leak():
    assert leaks_in(LINE % samples.STRIPE_SECRET)


def test_signature_shapes_are_leaks():
    assert leaks_in(LINE % ("t=1,v1=" + "a" * 64))
    assert leaks_in(LINE % "Traceback (most recent call last)")
    assert leaks_in(LINE % "-----BEGIN PRIVATE KEY-----")


def test_clean_lines_and_other_programs_output_are_not_leaks():
    assert leaks_in(LINE % "webhook received") == []
    assert leaks_in("moto: " + samples.STRIPE_SECRET) == []
