"""Quotes (urls_quotes.py) and contracts with their payments (urls_money.py), one namespace."""

from django.urls import URLPattern

from bridgecrm.contracts import urls_money, urls_quotes

app_name = "contracts"

urlpatterns: list[URLPattern] = [*urls_quotes.urlpatterns, *urls_money.urlpatterns]
