from django.urls import path

from debtors import views

urlpatterns = [
    path("debtors/", views.debtor_list, name="debtor_list"),
    path("debtors/opt-out/", views.debtor_bulk_opt_out, name="debtor_bulk_opt_out"),
    path("debtors/<int:pk>/", views.debtor_detail, name="debtor_detail"),
    path("debtors/<int:pk>/opt-out/", views.debtor_detail_opt_out, name="debtor_opt_out"),
    path("debtors/<int:pk>/time-zone/", views.debtor_time_zone, name="debtor_time_zone"),
    path(
        "debtors/<int:pk>/dispositions/",
        views.debtor_disposition_list,
        name="debtor_disposition_list",
    ),
    path("debtors/promises/broken/", views.promise_broken_list, name="promise_broken_list"),
    path("debtors/promises/check/", views.promise_broken_check, name="promise_broken_check"),
    path("debtors/export.<str:fmt>", views.debtor_export, name="debtor_export"),
    path("debtors/imports/new/", views.debtor_import_new, name="debtor_import_new"),
    path("debtors/imports/<int:pk>/", views.debtor_import_detail, name="debtor_import_detail"),
    path("debtors/imports/<int:pk>/start/", views.debtor_import_start, name="debtor_import_start"),
    path(
        "debtors/imports/<int:pk>/errors.csv",
        views.debtor_import_errors,
        name="debtor_import_errors",
    ),
    path("do-not-contact/", views.do_not_contact_list, name="do_not_contact_list"),
    path("do-not-contact/add/", views.do_not_contact_new, name="do_not_contact_new"),
    path(
        "do-not-contact/<int:pk>/remove/",
        views.do_not_contact_remove_view,
        name="do_not_contact_remove",
    ),
    path("do-not-contact/import/", views.do_not_contact_import_view, name="do_not_contact_import"),
    path("do-not-contact/export.csv", views.do_not_contact_export, name="do_not_contact_export"),
]
