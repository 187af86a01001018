"""The payment state machine's rules, one at a time (the property tests cover every order)."""

from __future__ import annotations

import itertools

import pytest

from chalicelib.errors import ProcessingError
from chalicelib.payments.state import PaymentState, fold
from tests.unit.payments.events import dispute, make, payment, refund


def test_a_life_cycle_in_order_ends_succeeded_with_the_captured_amount() -> None:
    state = fold([
        payment("created", "pending", 0, amount=2000),
        payment("action", "requires_action", 1),
        payment("auth", "authorized", 2),
        payment("paid", "succeeded", 3, amount=1500),  # a partial capture
    ])
    assert state.status == "succeeded"
    assert state.amount == 1500 and state.currency == "USD"


def test_a_late_processing_after_succeeded_changes_nothing() -> None:
    # GIVEN a succeeded payment
    paid = fold([payment("paid", "succeeded", 10)])
    # WHEN a "processing" arrives, even with a later provider time
    late = paid.apply(payment("processing", "pending", 20))
    # THEN the status stays succeeded (the event is remembered as applied)
    assert late.status == "succeeded"
    assert late.lifecycle == paid.lifecycle
    assert late.has_applied(payment("processing", "pending", 20).event_id)


def test_between_events_of_the_same_rank_the_provider_time_decides() -> None:
    # GIVEN a failed attempt and a retry that is pending again, both "attempt" rank
    failed, retry = payment("failed", "failed", 10), payment("retry", "pending", 20)
    # THEN the later one wins, whatever the order they arrive in
    assert fold([failed, retry]).status == fold([retry, failed]).status == "pending"
    # AND among final outcomes too: canceled later than succeeded wins (and the reverse)
    assert fold([payment("ok", "succeeded", 5), payment("cancel", "canceled", 6)]).status == "canceled"
    assert fold([payment("cancel", "canceled", 5), payment("ok", "succeeded", 6)]).status == "succeeded"


def test_a_failed_attempt_never_undoes_an_authorization() -> None:
    state = fold([payment("auth", "authorized", 10), payment("capture_failed", "failed", 20)])
    assert state.status == "authorized"


def test_exact_ties_are_broken_by_a_fixed_order_not_by_arrival() -> None:
    a, b = payment("x", "requires_action", 5), payment("y", "failed", 5)
    assert fold([a, b]).facts() == fold([b, a]).facts()
    assert fold([a, b]).status == "failed"


def test_refunds_accumulate_by_refund_id_and_a_duplicate_counts_once() -> None:
    # GIVEN a 20.00 payment and a 5.00 partial refund delivered twice (two deliveries, one refund)
    first = refund("r1", "refund_succeeded", 100, "re_1", 500)
    again = refund("r1-again", "refund_succeeded", 100, "re_1", 500)
    state = fold([payment("paid", "succeeded", 1), first, again])
    # THEN 5.00 is refunded, once
    assert state.refunded_amount == 500
    assert state.status == "partially_refunded"


def test_the_payment_becomes_refunded_when_the_refunds_reach_the_amount() -> None:
    state = fold([
        payment("paid", "succeeded", 1, amount=2000),
        refund("r1", "refund_succeeded", 100, "re_1", 500),
        refund("r2", "refund_succeeded", 200, "re_2", 1500),
    ])
    assert state.refunded_amount == 2000
    assert state.status == "refunded"


def test_a_pending_refund_counts_once_it_succeeds_and_stops_counting_if_it_fails_later() -> None:
    paid = payment("paid", "succeeded", 1)
    pending = refund("p", "refund_pending", 100, "re_1", 2000)
    done = refund("d", "refund_succeeded", 110, "re_1", 2000)
    failed = refund("f", "refund_failed", 120, "re_1", 2000)
    assert fold([paid, pending]).status == "succeeded"
    assert fold([paid, done, pending]).status == "refunded"  # the pending one arrived late
    assert fold([paid, failed, pending, done]).status == "succeeded"  # it failed after succeeding


def test_a_provider_running_total_covers_refunds_it_did_not_name() -> None:
    # GIVEN Stripe's charge.refunded without the refund list: only amount_refunded is known
    state = fold([
        payment("paid", "succeeded", 1),
        make("c1", "refund", "refund_succeeded", 100, amount=2000, refunded_total=500),
        make("c2", "refund", "refund_succeeded", 200, amount=2000, refunded_total=2000),
    ])
    assert state.refunded_amount == 2000 and state.status == "refunded"


def test_a_refund_before_the_payment_is_known_is_partial_until_the_amount_arrives() -> None:
    r = refund("r", "refund_succeeded", 100, "re_1", 2000)
    assert fold([r]).status == "partially_refunded"
    assert fold([r, payment("paid", "succeeded", 1, amount=2000)]).status == "refunded"


@pytest.mark.parametrize(
    ("outcome", "status"),
    [("dispute_open", "disputed"), ("dispute_won", "dispute_won"), ("dispute_lost", "dispute_lost")],
)
def test_disputes_and_their_outcomes(outcome: str, status: str) -> None:
    state = fold([payment("paid", "succeeded", 1), dispute("d", outcome, 100)])
    assert state.status == status


def test_a_dispute_outcome_beats_the_open_dispute_whatever_the_order() -> None:
    opened, won = dispute("open", "dispute_open", 100), dispute("won", "dispute_won", 200)
    for order in itertools.permutations([payment("paid", "succeeded", 1), opened, won]):
        assert fold(list(order)).status == "dispute_won"


def test_a_reversed_chargeback_wins_back_a_lost_dispute_by_time() -> None:
    lost, reversed_ = dispute("cb", "dispute_lost", 100), dispute("rev", "dispute_won", 200)
    assert fold([reversed_, lost]).status == fold([lost, reversed_]).status == "dispute_won"


def test_applying_an_event_twice_is_the_same_state_object() -> None:
    e = payment("paid", "succeeded", 1)
    once = PaymentState().apply(e)
    assert once.apply(e) is once


def test_an_event_in_another_currency_is_refused() -> None:
    state = fold([payment("paid", "succeeded", 1, currency="USD")])
    with pytest.raises(ProcessingError, match="currency"):
        state.apply(refund("r", "refund_succeeded", 2, "re_1", 100, currency="EUR"))


def test_merge_is_the_join_of_two_states() -> None:
    a = fold([payment("paid", "succeeded", 1), refund("r1", "refund_succeeded", 2, "re_1", 500)])
    b = fold([refund("r2", "refund_succeeded", 3, "re_2", 700), refund("r1", "refund_succeeded", 2, "re_1", 500)])
    assert a.merge(b).facts() == b.merge(a).facts()
    assert a.merge(b).refunded_amount == 1200
    assert a.merge(b).merge(b).facts() == a.merge(b).facts()


def test_the_state_round_trips_through_json() -> None:
    state = fold([
        payment("paid", "succeeded", 1), refund("r1", "refund_pending", 2, "re_1", 500),
        dispute("d", "dispute_open", 3), make("t", "refund", "refund_succeeded", 4, refunded_total=100),
    ])
    assert PaymentState.from_json(state.to_json()) == state
