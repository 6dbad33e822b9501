from django.urls import path

from inbox import views

urlpatterns = [
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/unread/", views.inbox_unread, name="inbox_unread"),
    path("inbox/<int:pk>/", views.conversation_detail, name="conversation_detail"),
    path("inbox/<int:pk>/answer/", views.conversation_answer, name="conversation_answer"),
    path("inbox/<int:pk>/assign/", views.conversation_assign, name="conversation_assign"),
    path(
        "inbox/<int:pk>/quick-reply/",
        views.conversation_quick_reply,
        name="conversation_quick_reply",
    ),
    path("inbox/quick-replies/", views.quick_reply_list, name="quick_reply_list"),
    path("inbox/quick-replies/<int:pk>/", views.quick_reply_edit, name="quick_reply_edit"),
    path(
        "inbox/quick-replies/<int:pk>/delete/",
        views.quick_reply_delete,
        name="quick_reply_delete",
    ),
]
