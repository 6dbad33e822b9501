from django.urls import path

from inbox import views

urlpatterns = [
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/unread/", views.inbox_unread, name="inbox_unread"),
    path("inbox/<int:pk>/", views.conversation_detail, name="conversation_detail"),
    path("inbox/<int:pk>/answer/", views.conversation_answer, name="conversation_answer"),
    path("inbox/<int:pk>/assign/", views.conversation_assign, name="conversation_assign"),
]
