from django.urls import path, re_path

from sessions_app import views

urlpatterns = [
    path("sessions/", views.session_list, name="session_list"),
    path("pools/", views.pool_list, name="pool_list"),
    re_path(r"^sessions/(?P<pk>[0-9]+)/qr\.(?P<fmt>png|svg)$", views.session_qr, name="session_qr"),
]
