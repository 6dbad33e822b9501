from django.urls import path

from campaigns import views

urlpatterns = [
    path("campaigns/", views.campaign_list, name="campaign_list"),
    path("campaigns/new/", views.campaign_create, name="campaign_create"),
    path("campaigns/preview/", views.campaign_preview, name="campaign_preview"),
    path("campaigns/<int:pk>/", views.campaign_detail, name="campaign_detail"),
    path("campaigns/<int:pk>/edit/", views.campaign_edit, name="campaign_edit"),
    path(
        "campaigns/<int:pk>/progress/", views.campaign_progress_fragment, name="campaign_progress"
    ),
    path("campaigns/<int:pk>/bar/", views.campaign_bar, name="campaign_bar"),
    path("campaigns/<int:pk>/waiting/", views.campaign_waiting_fragment, name="campaign_waiting"),
    path("policies/", views.policy_list, name="policy_list"),
    path("policies/new/", views.policy_create, name="policy_create"),
    path("policies/<int:pk>/edit/", views.policy_edit, name="policy_edit"),
    path("policies/<int:pk>/default/", views.policy_make_default, name="policy_make_default"),
    *(
        path(
            f"campaigns/<int:pk>/{action}/",
            views.campaign_change,
            {"action": action},
            name=f"campaign_{action}",
        )
        for action in views.CAMPAIGN_CHANGES
    ),
    path(
        "campaigns/<int:pk>/messages/<int:message_pk>/resolve/",
        views.message_resolve,
        name="message_resolve",
    ),
    path(
        "campaigns/<int:pk>/messages.<str:fmt>",
        views.campaign_message_export,
        name="campaign_message_export",
    ),
]
