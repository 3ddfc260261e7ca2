"""Payments rules without HTTP: clawback arithmetic, package settings, and the reconciler."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from conjure.payments.reconcile import reconcile_open_payments
from conjure.payments.service import clawback_target
from conjure.settings import Settings
from tests.payments.conftest import Shop


@given(
    total=st.integers(min_value=1, max_value=10_000),
    amount=st.integers(min_value=1_000, max_value=10_000_000),
    cuts=st.lists(st.floats(min_value=0, max_value=1), max_size=8),
)
def test_partial_refunds_in_any_steps_take_back_the_same_stars(
    total: int, amount: int, cuts: list[float]
) -> None:
    refunded_steps = [*sorted(int(amount * c) for c in cuts), amount]
    taken = 0
    for refunded in refunded_steps:
        target = clawback_target(total, amount, refunded)
        assert target >= taken  # a refund never gives stars back
        assert target <= total
        taken = target
    assert taken == total  # a full refund takes all of them, whatever the steps


def test_star_packages_come_from_json_settings(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(star_packages=[{"id": "mini", "name": "Mini", "price": 2_000, "stars": 2}])
    assert [(p.id, p.price, p.stars, p.bonus_stars) for p in settings.star_packages] == [
        ("mini", 2_000, 2, 0)
    ]
    with pytest.raises(ValidationError):
        make_settings(star_packages=[{"id": "tiny", "name": "Tiny", "price": 500, "stars": 1}])


async def test_reconcile_settles_what_no_one_told_us(shop: Shop) -> None:
    user, headers = await shop.user()
    paid = await shop.buy(headers, "popular")
    abandoned = await shop.buy(headers, "starter")
    waiting = await shop.buy(headers, "value")
    shop.stripe.set_status(paid["payment_intent_id"], "succeeded")
    shop.stripe.set_status(abandoned["payment_intent_id"], "canceled")

    too_young = await reconcile_open_payments(shop.runtime, older_than=dt.timedelta(hours=1))
    assert too_young == {}
    outcome = await reconcile_open_payments(shop.runtime, older_than=dt.timedelta(0))
    assert outcome == {"succeeded": 1, "canceled": 1, "pending": 1}
    again = await reconcile_open_payments(shop.runtime, older_than=dt.timedelta(0))
    assert again == {"pending": 1}  # only the one still waiting is asked about again

    assert await shop.balance(user.id) == 33
    assert (await shop.payment(waiting["payment_intent_id"])).status == "pending"
    await shop.assert_ledger_consistent()
