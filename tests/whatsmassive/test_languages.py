from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from whatsmassive.languages import user_language_set
from whatsmassive.models import UserProfile


def test_a_spanish_browser_gets_the_login_page_in_spanish(client: Client, db: None) -> None:
    response = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="es-CO,es;q=0.9")
    assert "Iniciar sesión" in response.content.decode()
    assert response["Content-Language"] == "es"


def test_without_a_preference_the_browser_decides(client: Client, operator: User) -> None:
    client.force_login(operator)
    response = client.get(reverse("dashboard"), HTTP_ACCEPT_LANGUAGE="en")
    assert response["Content-Language"] == "en"


def test_the_users_preference_wins_over_the_browser(client: Client, operator: User) -> None:
    user_language_set(user=operator, language="es")
    client.force_login(operator)
    response = client.get(reverse("dashboard"), HTTP_ACCEPT_LANGUAGE="en")
    assert response["Content-Language"] == "es"
    assert "Panel" in response.content.decode()


def test_the_preferences_page_keeps_the_choice(client: Client, operator: User) -> None:
    client.force_login(operator)
    response = client.post(reverse("preferences"), {"language": "es"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 302
    assert UserProfile.objects.get(user=operator).language == "es"
    page = client.get(reverse("preferences"), HTTP_ACCEPT_LANGUAGE="en")
    assert page["Content-Language"] == "es"


def test_the_navigation_switch_returns_to_the_same_page(client: Client, operator: User) -> None:
    client.force_login(operator)
    response = client.post(
        reverse("language_switch"), {"language": "es", "next": reverse("session_list")}
    )
    assert response["Location"] == reverse("session_list")
    assert UserProfile.objects.get(user=operator).language == "es"
    assert response.cookies["django_language"].value == "es"


def test_the_switch_refuses_an_unknown_language_and_a_foreign_next(
    client: Client, operator: User
) -> None:
    client.force_login(operator)
    assert client.post(reverse("language_switch"), {"language": "fr"}).status_code == 400
    response = client.post(
        reverse("language_switch"), {"language": "en", "next": "https://evil.example/"}
    )
    assert response["Location"] == reverse("dashboard")


def test_the_javascript_catalogue_is_served_before_login(client: Client, db: None) -> None:
    response = client.get(reverse("javascript_catalog"), HTTP_ACCEPT_LANGUAGE="es")
    assert response.status_code == 200
    assert "gettext" in response.content.decode()
