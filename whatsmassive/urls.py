from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.urls import URLPattern, URLResolver, include, path
from django.utils.translation import gettext_lazy as _
from django.views.i18n import JavaScriptCatalog

from whatsmassive import views

admin.site.site_header = _("WhatsMassive administration")
admin.site.site_title = "WhatsMassive"

handler403 = "whatsmassive.views.permission_denied"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.dashboard, name="dashboard"),
    path("logs/", views.log_list, name="log_list"),
    path("audit/", views.audit_list, name="audit_list"),
    path("audit/export.csv", views.audit_export, name="audit_export"),
    path("settings/preferences/", views.preferences, name="preferences"),
    path("i18n/language/", views.language_switch, name="language_switch"),
    # The login page's scripts need the catalogue too.
    path(
        "i18n/catalog.js",
        login_not_required(JavaScriptCatalog.as_view()),
        name="javascript_catalog",
    ),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(
            extra_context={"password_reset_enabled": settings.PASSWORD_RESET_ENABLED}
        ),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/2fa/", views.second_factor_verify, name="second_factor_verify"),
    path("accounts/2fa/enrol/", views.second_factor_enrol, name="second_factor_enrol"),
    path(
        "accounts/password_change/",
        auth_views.PasswordChangeView.as_view(),
        name="password_change",
    ),
    path(
        "accounts/password_change/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("admin/", admin.site.urls),
    path("api/", include("api.urls")),
    path("settings/", include("api.pages")),
    path("settings/", include("webhooks.urls")),
    path("", include("sessions_app.urls")),
    path("", include("campaigns.urls")),
    path("", include("debtors.urls")),
    path("", include("inbox.urls")),
]

# The reset pages send mail: without a mail server (EMAIL_URL) they do not exist.
if settings.PASSWORD_RESET_ENABLED:
    urlpatterns.insert(
        0,
        path(
            "accounts/",
            include(
                [
                    path(
                        "password_reset/",
                        auth_views.PasswordResetView.as_view(),
                        name="password_reset",
                    ),
                    path(
                        "password_reset/done/",
                        auth_views.PasswordResetDoneView.as_view(),
                        name="password_reset_done",
                    ),
                    path(
                        "reset/<uidb64>/<token>/",
                        auth_views.PasswordResetConfirmView.as_view(),
                        name="password_reset_confirm",
                    ),
                    path(
                        "reset/done/",
                        auth_views.PasswordResetCompleteView.as_view(),
                        name="password_reset_complete",
                    ),
                ]
            ),
        ),
    )
