from django.urls import path

from sessions_app import views

urlpatterns = [
    path("sessions/", views.session_list, name="session_list"),
    path("pools/", views.pool_list, name="pool_list"),
]
