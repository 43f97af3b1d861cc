from django.urls import include, path

from bridgecrm.api.api import api

urlpatterns = [
    path("api/v1/", api.urls),
    path("", include("bridgecrm.users.urls")),
    path("", include("bridgecrm.customers.urls")),
    path("", include("bridgecrm.pipeline.urls")),
    path("", include("bridgecrm.contracts.urls")),
    path("", include("bridgecrm.activities.urls")),
    path("", include("bridgecrm.tiers.urls")),
    path("", include("bridgecrm.collab.urls")),
    path("", include("bridgecrm.customization.urls")),
    path("", include("bridgecrm.pool.urls")),
    path("", include("bridgecrm.imports.urls")),
    path("", include("bridgecrm.training.urls")),
    path("", include("bridgecrm.scorecards.urls")),
    path("", include("bridgecrm.targets.urls")),
    path("", include("bridgecrm.incentives.urls")),
    path("", include("bridgecrm.web.urls")),
]

handler400 = "bridgecrm.web.views.bad_request"
handler403 = "bridgecrm.web.views.permission_denied"
handler404 = "bridgecrm.web.views.page_not_found"
handler500 = "bridgecrm.web.views.server_error"
