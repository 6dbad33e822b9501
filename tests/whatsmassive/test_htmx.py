from django.test import RequestFactory
from django_htmx.middleware import HtmxDetails

from whatsmassive.htmx import htmx_redirect


def _request(**headers):
    request = RequestFactory().post("/anywhere/", headers=headers)
    request.htmx = HtmxDetails(request)
    return request


def test_an_htmx_request_is_sent_on_by_a_client_redirect():
    response = htmx_redirect(_request(HX_Request="true"), "/campaigns/7/")
    assert response.status_code == 200
    assert response["HX-Redirect"] == "/campaigns/7/"


def test_a_plain_form_post_gets_a_302():
    response = htmx_redirect(_request(), "/campaigns/7/")
    assert response.status_code == 302
    assert response["Location"] == "/campaigns/7/"
