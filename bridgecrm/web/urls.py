from django.urls import path

from bridgecrm.web import dashboard, views

app_name = "web"

urlpatterns = [
    path("", views.home, name="home"),
    path("search/", views.search, name="search"),
    path("manager/", dashboard.manager_dashboard, name="manager_dashboard"),
]
