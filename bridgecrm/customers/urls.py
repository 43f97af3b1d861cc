from django.urls import path

from bridgecrm.customers import views, views_dedup

app_name = "customers"

urlpatterns = [
    path("customers/", views.customer_list, name="list"),
    path("customers/new/", views.customer_create, name="create"),
    path("customers/export/", views.customer_export, name="export"),
    path("customers/contacts/", views.contact_list, name="contacts"),
    path("customers/contacts/export/", views.contact_export, name="contacts_export"),
    path("customers/views/save/", views.view_save, name="view_save"),
    path("customers/views/<int:view_id>/delete/", views.view_delete, name="view_delete"),
    path("customers/<int:customer_id>/", views.customer_detail, name="detail"),
    path("customers/<int:customer_id>/edit/", views.customer_edit, name="edit"),
    path("customers/<int:customer_id>/delete/", views.customer_delete, name="delete"),
    path("customers/<int:customer_id>/contacts/new/", views.contact_create, name="contact_create"),
    path("customers/<int:customer_id>/contacts/<int:contact_id>/edit/", views.contact_edit, name="contact_edit"),
    path("customers/<int:customer_id>/contacts/<int:contact_id>/delete/", views.contact_delete, name="contact_delete"),
    # Duplicate check (查重) and merge: customers/views_dedup.py.
    path("customers/duplicates/", views_dedup.duplicate_report, name="duplicates"),
    path("customers/duplicates/settings/", views_dedup.duplicate_settings, name="duplicate_settings"),
    path("customers/merge/", views_dedup.merge_wizard, name="merge"),
    path("customers/<int:customer_id>/duplicates/", views_dedup.customer_duplicates, name="customer_duplicates"),
]
