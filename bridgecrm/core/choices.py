"""Choices whose labels live in a higher app, looked up by name.

A lower app (customers) shows a code that a higher app (tiers) defines: the customer list filters
by tier, but only ``tiers`` knows the tiers' labels. The higher app registers a provider in its
``AppConfig.ready``; the lower one asks by name and gets ``[]`` when nobody registered.
"""

from __future__ import annotations

from collections.abc import Callable

ChoiceProvider = Callable[[], list[tuple[str, str]]]

_PROVIDERS: dict[str, ChoiceProvider] = {}

CUSTOMER_TIER = "customer_tier"


def register_choices(name: str, provider: ChoiceProvider) -> None:
    _PROVIDERS[name] = provider


def choices_of(name: str) -> list[tuple[str, str]]:
    """``[(code, label), …]`` from the registered provider, in its order; ``[]`` without one."""
    provider = _PROVIDERS.get(name)
    return provider() if provider is not None else []
