from django.urls import path

from debtors import views

urlpatterns = [
    path("debtors/", views.debtor_list, name="debtor_list"),
]
