"""The collaboration API: the same services, visibility and notifications as the pages."""

from __future__ import annotations

import pytest

from bridgecrm.activities.models import Notification, NotificationKind
from bridgecrm.api.tests.conftest import API, ApiClient, assert_error_shape, issue_token
from bridgecrm.collab.models import Comment
from bridgecrm.customers.tests.factories import make_customer
from bridgecrm.pipeline import services as pipeline_services
from bridgecrm.pipeline.tests.factories import make_pipeline

pytestmark = pytest.mark.django_db


def _delete(client: ApiClient, path: str):
    return client.client.delete(API + path, headers=client._headers(None))


def _put(client: ApiClient, path: str):
    return client.client.put(API + path, headers=client._headers(None))


@pytest.fixture
def customer(company):
    return make_customer(company.owner, name="Acme 上海")


@pytest.fixture
def deal(company, customer):
    make_pipeline(company.admin)
    return pipeline_services.deal_create(actor=company.owner, customer=customer, name="Acme renewal")


def test_comment_create_list_edit_delete(company, customer) -> None:
    api = ApiClient(issue_token(company.owner))
    created = api.post(f"/customers/{customer.pk}/comments", {"body": "Hello @manager_a"})
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["customer_id"] == customer.pk and body["deal_id"] is None
    assert [m["username"] for m in body["mentions"]] == ["manager_a"]
    assert Notification.objects.filter(recipient=company.manager_a, kind=NotificationKind.MENTION).count() == 1
    listed = api.get(f"/customers/{customer.pk}/comments").json()
    assert [c["id"] for c in listed["items"]] == [body["id"]] and listed["next_cursor"] == ""
    edited = api.patch(f"/comments/{body['id']}", {"body": "Hello again"})
    assert edited.status_code == 200 and edited.json()["edited_at"] is not None
    assert edited.json()["mentions"] == []
    assert _delete(api, f"/comments/{body['id']}").status_code == 204
    gone = api.get(f"/customers/{customer.pk}/comments").json()["items"][0]
    assert gone["deleted"] is True and gone["body"] == ""
    assert_error_shape(api.patch(f"/comments/{body['id']}", {"body": "x"}), 404, "not_found")


def test_comment_pages_by_cursor(company, customer) -> None:
    api = ApiClient(issue_token(company.owner))
    ids = [api.post(f"/customers/{customer.pk}/comments", {"body": f"n{i}"}).json()["id"] for i in range(5)]
    first = api.get(f"/customers/{customer.pk}/comments", {"limit": 3}).json()
    second = api.get(f"/customers/{customer.pk}/comments", {"limit": 3, "before": first["next_cursor"]}).json()
    assert [c["id"] for c in first["items"] + second["items"]] == list(reversed(ids))
    assert second["next_cursor"] == ""


def test_deal_comments_and_follow(company, deal) -> None:
    manager = ApiClient(issue_token(company.manager_a))
    followed = _put(manager, f"/deals/{deal.pk}/follow")
    assert followed.status_code == 200
    assert followed.json()["following"] is True
    assert {p["username"] for p in followed.json()["followers"]} == {"owner", "manager_a"}
    owner = ApiClient(issue_token(company.owner))
    assert owner.post(f"/deals/{deal.pk}/comments", {"body": "Q4"}).status_code == 201
    assert Notification.objects.filter(recipient=company.manager_a, kind=NotificationKind.COMMENT).count() == 1
    unfollowed = _delete(manager, f"/deals/{deal.pk}/follow")
    assert unfollowed.json()["following"] is False
    assert _delete(owner, f"/customers/{deal.customer_id}/follow").json()["following"] is False


def test_what_one_may_not_see_is_404_and_nothing_changes(company, customer, deal) -> None:
    comment = ApiClient(issue_token(company.owner)).post(f"/customers/{customer.pk}/comments", {"body": "x"}).json()
    other = ApiClient(issue_token(company.other_rep))
    for path in (f"/customers/{customer.pk}/comments", f"/deals/{deal.pk}/comments"):
        assert_error_shape(other.get(path), 404, "not_found")
        assert_error_shape(other.post(path, {"body": "hi"}), 404, "not_found")
    for path in (f"/customers/{customer.pk}/follow", f"/deals/{deal.pk}/follow"):
        assert_error_shape(_put(other, path), 404, "not_found")
        assert_error_shape(_delete(other, path), 404, "not_found")
    assert_error_shape(other.patch(f"/comments/{comment['id']}", {"body": "y"}), 404, "not_found")
    assert_error_shape(_delete(other, f"/comments/{comment['id']}"), 404, "not_found")
    assert Comment.objects.get().body == "x"


def test_refusals(company, customer) -> None:
    owner = ApiClient(issue_token(company.owner))
    body = assert_error_shape(
        owner.post(f"/customers/{customer.pk}/comments", {"body": "@other_rep hi"}), 400, "mention_not_visible"
    )
    assert body["details"] == {"body": [body["message"]]}
    assert_error_shape(owner.post(f"/customers/{customer.pk}/comments", {"body": ""}), 422, "invalid")
    assert_error_shape(owner.post(f"/customers/{customer.pk}/comments", {"body": "  "}), 400, "required")
    comment = owner.post(f"/customers/{customer.pk}/comments", {"body": "mine"}).json()
    manager = ApiClient(issue_token(company.manager_a))
    assert_error_shape(manager.patch(f"/comments/{comment['id']}", {"body": "theirs"}), 403, "forbidden")
    assert_error_shape(_delete(manager, f"/comments/{comment['id']}"), 403, "forbidden")
    assert not Comment.objects.exclude(body="mine").exists()


def test_feed_and_inbox_filter(company, customer, django_assert_max_num_queries) -> None:
    owner = ApiClient(issue_token(company.owner))
    owner.post(f"/customers/{customer.pk}/comments", {"body": "@admin see"})
    admin = ApiClient(issue_token(company.admin))
    feed = admin.get("/feed").json()
    assert {i["kind"] for i in feed["items"]} == {"customer", "comment"}
    assert ApiClient(issue_token(company.other_rep)).get("/feed").json()["items"] == []
    assert admin.get("/feed", {"day": "2020-01-01"}).json()["items"] == []
    assert_error_shape(admin.get("/feed", {"day": "2020-13-45"}), 400, "invalid")
    assert_error_shape(admin.get("/feed", {"day": "yesterday"}), 422, "invalid")
    with django_assert_max_num_queries(14):
        admin.get("/feed", {"limit": 1})
    mentions = admin.get("/notifications", {"kind": "mention"}).json()
    assert mentions["count"] == 1 and mentions["items"][0]["kind"] == "mention"
    assert admin.get("/notifications", {"kind": "comment"}).json()["count"] == 0
