from django.urls import URLPattern

from bridgecrm.activities import views  # noqa: F401

app_name = "activities"

urlpatterns: list[URLPattern] = []
