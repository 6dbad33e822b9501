from django.urls import path, re_path

from sessions_app import views

urlpatterns = [
    path("sessions/", views.session_list, name="session_list"),
    path("sessions/new/", views.session_add, name="session_add"),
    path("sessions/<int:pk>/", views.session_detail, name="session_detail"),
    path("sessions/<int:pk>/live/", views.session_live, name="session_live"),
    path("sessions/<int:pk>/row/", views.session_row, name="session_row"),
    path("sessions/<int:pk>/connect/", views.session_connect, name="session_connect"),
    path("sessions/<int:pk>/disconnect/", views.session_disconnect, name="session_disconnect"),
    path("sessions/<int:pk>/logout/", views.session_logout, name="session_logout"),
    path(
        "sessions/<int:pk>/simulate-scan/",
        views.session_simulate_scan,
        name="session_simulate_scan",
    ),
    path("sessions/<int:pk>/pacing/", views.session_pacing, name="session_pacing"),
    path(
        "sessions/<int:pk>/pairing-code/", views.session_pairing_code, name="session_pairing_code"
    ),
    path("sessions/<int:pk>/use-here/", views.session_use_here, name="session_use_here"),
    re_path(r"^sessions/(?P<pk>[0-9]+)/qr\.(?P<fmt>png|svg)$", views.session_qr, name="session_qr"),
    path("pools/", views.pool_list, name="pool_list"),
    path("pools/new/", views.pool_new, name="pool_new"),
    path("pools/<int:pk>/", views.pool_detail, name="pool_detail"),
    path("pools/<int:pk>/delete/", views.pool_delete, name="pool_delete"),
    path("pools/<int:pk>/members/", views.pool_members, name="pool_members"),
    path("pools/<int:pk>/members/add/", views.pool_member_add, name="pool_member_add"),
    path(
        "pools/<int:pk>/members/<int:member_pk>/",
        views.pool_member_update,
        name="pool_member_update",
    ),
    path(
        "pools/<int:pk>/members/<int:member_pk>/move/",
        views.pool_member_move,
        name="pool_member_move",
    ),
    path(
        "pools/<int:pk>/members/<int:member_pk>/remove/",
        views.pool_member_remove,
        name="pool_member_remove",
    ),
]
