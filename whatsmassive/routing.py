from django.urls import URLPattern, URLResolver

# Each app appends its consumers' routes here as the realtime pages arrive.
websocket_urlpatterns: list[URLPattern | URLResolver] = []
