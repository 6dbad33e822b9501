from django.urls import path

from campaigns import views

urlpatterns = [
    path("campaigns/", views.campaign_list, name="campaign_list"),
    path(
        "campaigns/<int:pk>/messages.<str:fmt>",
        views.campaign_message_export,
        name="campaign_message_export",
    ),
]
