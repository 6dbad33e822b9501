from django.core.files.uploadedfile import SimpleUploadedFile

from debtors.models import DebtorImport
from sessions_app.models import Pool


def test_a_repeated_post_returns_the_first_answer_and_does_nothing_again(api):
    body = {"name": "Cartera A", "strategy": "competitive"}
    first = api.post_json("/api/v1/pools/", body, HTTP_IDEMPOTENCY_KEY="abc-1")
    again = api.post_json("/api/v1/pools/", body, HTTP_IDEMPOTENCY_KEY="abc-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Pool.objects.count() == 1


def test_the_same_key_with_another_body_is_refused(api):
    api.post_json(
        "/api/v1/pools/", {"name": "A", "strategy": "competitive"}, HTTP_IDEMPOTENCY_KEY="k"
    )
    response = api.post_json(
        "/api/v1/pools/", {"name": "B", "strategy": "competitive"}, HTTP_IDEMPOTENCY_KEY="k"
    )
    assert response.status_code == 422
    assert response.json()["type"].endswith("idempotency-key-reused")
    assert list(Pool.objects.values_list("name", flat=True)) == ["A"]


def test_a_failed_request_is_not_remembered(api):
    bad = api.post_json("/api/v1/pools/", {"name": "", "strategy": "x"}, HTTP_IDEMPOTENCY_KEY="f")
    assert bad.status_code == 400
    good = api.post_json("/api/v1/pools/", {"name": "", "strategy": "x"}, HTTP_IDEMPOTENCY_KEY="f")
    assert good.status_code == 400  # ran again, still invalid; nothing stored either time


def test_an_upload_under_the_same_key_is_the_same_request_only_with_the_same_file(api):
    def upload(name, content):
        return api.post(
            "/api/v1/imports/",
            {"file": SimpleUploadedFile(name, content)},
            HTTP_IDEMPOTENCY_KEY="upload-1",
        )

    rows = b"nombre,celular\nAna,3001234567\n"
    first = upload("deudores.csv", rows)
    assert first.status_code == 201, first.content
    assert upload("deudores.csv", rows)["Idempotent-Replayed"] == "true"
    # The same rows under another name are another upload (the import keeps the name).
    assert upload("cartera.csv", rows).status_code == 422
    assert DebtorImport.objects.count() == 1
