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
