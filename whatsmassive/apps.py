from django.apps import AppConfig


class WhatsMassiveConfig(AppConfig):
    name = "whatsmassive"
    verbose_name = "WhatsMassive"

    def ready(self) -> None:
        from django.contrib.auth import get_user_model
        from django.contrib.auth.signals import user_logged_in, user_logged_out
        from django.db.backends.signals import connection_created
        from django.db.models.signals import post_save

        from whatsmassive import languages
        from whatsmassive.db import register_search_key
        from whatsmassive.user_sessions import on_logout, on_user_saved

        # Wiring only: a user whose session ends, or who is deactivated, keeps no socket open.
        user_logged_out.connect(on_logout, dispatch_uid="whatsmassive-logout-sockets")
        post_save.connect(
            on_user_saved, sender=get_user_model(), dispatch_uid="whatsmassive-user-sockets"
        )
        connection_created.connect(register_search_key, dispatch_uid="whatsmassive-search-key")
        # The user's language travels in the session, read without a query on each request.
        user_logged_in.connect(languages.on_login, dispatch_uid="whatsmassive-login-language")
