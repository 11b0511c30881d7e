"""Fixtures for the churn tests: the four-account history every analysis test computes by hand."""

import datetime

import pytest

from banso.accounts.choices import TouchTier

from .factories import AccountFactory, contract

D = datetime.date


@pytest.fixture
def four_accounts(db):
    """January 2025: A churns (100,000), B expands 50,000 → 80,000 at renewal, C contracts 200,000 → 150,000
    mid-month, D is new (60,000). Nothing moves in February or March."""
    a = AccountFactory(name="A社", tier=TouchTier.HIGH, industry="製造業")
    b = AccountFactory(name="B社", tier=TouchTier.LOW, industry="製造業")
    c = AccountFactory(name="C社", tier=TouchTier.HIGH, industry="小売・流通")
    d = AccountFactory(name="D社", tier=TouchTier.LOW, industry="小売・流通")
    contract(a, 100_000, D(2024, 1, 1), D(2025, 2, 1), churned=True)
    contract(b, 50_000, D(2024, 6, 1), D(2025, 2, 1))
    contract(b, 80_000, D(2025, 2, 1))
    contract(c, 200_000, D(2024, 3, 1), D(2025, 1, 15))
    contract(c, 150_000, D(2025, 1, 15))
    contract(d, 60_000, D(2025, 1, 10))
    return {"A": a, "B": b, "C": c, "D": d}
