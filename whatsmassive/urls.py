from django.contrib import admin
from django.urls import include, path

from whatsmassive import views

admin.site.site_header = "WhatsMassive administration"
admin.site.site_title = "WhatsMassive"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("logs/", views.log_list, name="log_list"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("api/", include("api.urls")),
    path("settings/", include("api.pages")),
    path("settings/", include("webhooks.urls")),
    path("", include("sessions_app.urls")),
    path("", include("campaigns.urls")),
    path("", include("debtors.urls")),
]
