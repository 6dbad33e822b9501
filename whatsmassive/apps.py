from django.apps import AppConfig


class WhatsMassiveConfig(AppConfig):
    name = "whatsmassive"
    verbose_name = "WhatsMassive"
