from django.apps import AppConfig


class OwnedAppConfig(AppConfig):
    """A test-only app with an owned record, to exercise ``OwnedQuerySet`` before real domains exist."""

    name = "bridgecrm.core.tests.ownedapp"
    label = "ownedapp"
