from django.urls import URLPattern, URLResolver, path, re_path

from whatsmassive.consumers import ClosingConsumer, LiveConsumer

# One socket per live area of a page; see whatsmassive.consumers and whatsmassive.realtime.
websocket_urlpatterns: list[URLPattern | URLResolver] = [
    path("ws/dashboard/", LiveConsumer.as_asgi(), {"kind": "dashboard"}),
    path("ws/sessions/", LiveConsumer.as_asgi(), {"kind": "sessions"}),
    path("ws/sessions/<int:pk>/", LiveConsumer.as_asgi(), {"kind": "session"}),
    path("ws/campaigns/<int:pk>/", LiveConsumer.as_asgi(), {"kind": "campaign"}),
    path("ws/inbox/", LiveConsumer.as_asgi(), {"kind": "inbox"}),
    path("ws/conversations/<int:pk>/", LiveConsumer.as_asgi(), {"kind": "conversation"}),
    re_path(r"", ClosingConsumer.as_asgi()),
]
