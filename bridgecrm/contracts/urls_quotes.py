from django.urls import URLPattern, path

from bridgecrm.contracts.views import quotes as views

urlpatterns: list[URLPattern] = [
    path("quotes/", views.quote_list, name="quotes"),
    path("quotes/export/", views.quote_export, name="quotes_export"),
    path("quotes/new/", views.quote_create, name="quote_create"),
    path("quotes/<int:quote_id>/", views.quote_detail, name="quote_detail"),
    path("quotes/<int:quote_id>/edit/", views.quote_edit, name="quote_edit"),
    path("quotes/<int:quote_id>/status/", views.quote_status, name="quote_status"),
    path("quotes/<int:quote_id>/revise/", views.quote_revise, name="quote_revise"),
    path("quotes/<int:quote_id>/print/", views.quote_print, name="quote_print"),
    path("quotes/<int:quote_id>/pdf/", views.quote_pdf, name="quote_pdf"),
    path("settings/documents/", views.document_settings, name="document_settings"),
]
