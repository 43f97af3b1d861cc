"""The comment pages and panels, the mention picker, follow buttons, the inbox filter and the feed page."""

from __future__ import annotations

import pytest
from django.urls import reverse

from bridgecrm.activities.models import Notification, NotificationKind
from bridgecrm.collab import services
from bridgecrm.collab.models import Comment
from bridgecrm.conftest import signed_in
from bridgecrm.customers.tests.factories import make_customer
from bridgecrm.pipeline import services as pipeline_services
from bridgecrm.pipeline.tests.factories import make_pipeline

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer(company):
    return make_customer(company.owner, name="Acme 上海")


@pytest.fixture
def deal(company, customer):
    make_pipeline(company.admin)
    return pipeline_services.deal_create(actor=company.owner, customer=customer, name="Acme renewal")


def test_comment_from_the_customer_page_and_see_it_there(company, customer) -> None:
    client = signed_in(company.owner)
    url = reverse("collab:customer_comments", kwargs={"record_id": customer.pk})
    response = client.post(url, {"body": "Met <b>them</b>\nhttps://acme.cn @manager_a"})
    comment = Comment.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/customers/{customer.pk}/#comment-{comment.pk}"
    page = client.get(f"/customers/{customer.pk}/")
    html = page.content.decode()
    assert f'id="comment-{comment.pk}"' in html
    assert "Met &lt;b&gt;them&lt;/b&gt;<br>" in html
    assert '<a href="https://acme.cn" rel="nofollow">https://acme.cn</a>' in html
    assert '<span class="mention">@manager_a</span>' in html
    assert 'data-testid="follow-toggle">Unfollow' in html  # the owner follows by default
    assert Notification.objects.filter(recipient=company.manager_a, kind=NotificationKind.MENTION).count() == 1


def test_a_deal_page_has_its_own_comments(company, deal) -> None:
    client = signed_in(company.manager_a)
    response = client.post(reverse("collab:deal_comments", kwargs={"record_id": deal.pk}), {"body": "Push"})
    assert response.status_code == 302
    page = client.get(f"/deals/{deal.pk}/").content.decode()
    assert "Push" in page and 'data-testid="comments"' in page


def test_a_refused_mention_shows_on_the_form_and_saves_nothing(company, customer) -> None:
    client = signed_in(company.owner)
    url = reverse("collab:customer_comments", kwargs={"record_id": customer.pk})
    response = client.post(url, {"body": "@other_rep look"})
    assert response.status_code == 200
    assert "@other_rep cannot see this customer" in response.content.decode()
    assert not Comment.objects.exists()


def test_people_who_cannot_see_the_record_get_404_everywhere(company, customer, deal) -> None:
    comment = services.comment_create(actor=company.owner, record=customer, body="secret")
    client = signed_in(company.other_rep)
    missing = client.get("/no-such-page/").content
    for name, kind_id in (("customer", customer.pk), ("deal", deal.pk)):
        for route, method in (("comments", "get"), ("comments", "post"), ("follow", "post"), ("mentionable", "get")):
            url = reverse(f"collab:{name}_{route}", kwargs={"record_id": kind_id})
            response = getattr(client, method)(url, {"body": "x"} if method == "post" else {})
            assert response.status_code == 404, (url, method)
            assert response.content == missing
    for route, method in (("comment_open", "get"), ("comment_edit", "get"), ("comment_edit", "post")):
        response = getattr(client, method)(reverse(f"collab:{route}", kwargs={"comment_id": comment.pk}))
        assert response.status_code == 404
    assert client.post(reverse("collab:comment_delete", kwargs={"comment_id": comment.pk})).status_code == 404
    assert Comment.objects.get().deleted_at is None
    assert Comment.objects.count() == 1


def test_only_the_author_edits_and_deletes_through_the_pages(company, customer) -> None:
    comment = services.comment_create(actor=company.owner, record=customer, body="v1")
    manager = signed_in(company.manager_a)
    edit = reverse("collab:comment_edit", kwargs={"comment_id": comment.pk})
    assert manager.get(edit).status_code == 403
    assert manager.post(edit, {"body": "hijack"}).status_code == 403
    assert manager.post(reverse("collab:comment_delete", kwargs={"comment_id": comment.pk})).status_code == 403
    owner = signed_in(company.owner)
    assert owner.get(edit).status_code == 200
    assert owner.post(edit, {"body": "second version of it"}).status_code == 302
    page = owner.get(f"/customers/{customer.pk}/").content.decode()
    assert "second version of it" in page and 'data-testid="comment-edited"' in page
    assert owner.post(reverse("collab:comment_delete", kwargs={"comment_id": comment.pk})).status_code == 302
    page = owner.get(f"/customers/{customer.pk}/").content.decode()
    assert "This comment was deleted." in page and "second version of it" not in page
    assert owner.get(edit).status_code == 404


def test_the_mention_picker_lists_only_people_who_see_the_record(company, customer) -> None:
    client = signed_in(company.owner)
    url = reverse("collab:customer_mentionable", kwargs={"record_id": customer.pk})
    html = client.get(url, {"q": ""}, headers={"HX-Request": "true"}).content.decode()
    assert 'data-username="manager_a"' in html and 'data-username="admin"' in html
    for hidden in ("other_rep", "manager_b", "teammate", "owner"):
        assert f'data-username="{hidden}"' not in html
    html = client.get(url, {"q": "adm"}).content.decode()
    assert html.count("data-username=") == 1


def test_follow_and_unfollow_buttons(company, customer) -> None:
    client = signed_in(company.manager_a)
    url = reverse("collab:customer_follow", kwargs={"record_id": customer.pk})
    assert client.post(url, {"following": "1"}).status_code == 302
    assert 'data-testid="follow-toggle">Unfollow' in client.get(f"/customers/{customer.pk}/").content.decode()
    services.comment_create(actor=company.owner, record=customer, body="news")
    assert Notification.objects.filter(recipient=company.manager_a, kind=NotificationKind.COMMENT).count() == 1
    assert client.post(url, {"following": "0"}).status_code == 302
    services.comment_create(actor=company.owner, record=customer, body="more news")
    assert Notification.objects.filter(recipient=company.manager_a, kind=NotificationKind.COMMENT).count() == 1


def test_a_notification_link_opens_the_comment(company, customer) -> None:
    comment = services.comment_create(actor=company.owner, record=customer, body="@admin hi")
    client = signed_in(company.admin)
    response = client.get(reverse("collab:comment_open", kwargs={"comment_id": comment.pk}))
    assert response["Location"] == f"/customers/{customer.pk}/#comment-{comment.pk}"
    inbox = client.get("/notifications/", {"kind": "mention"}).content.decode()
    assert "mentioned you in a comment on Acme 上海" in inbox
    assert "mentioned you" not in client.get("/notifications/", {"kind": "comment"}).content.decode()


def test_comment_pages_cost_fixed_queries(company, customer, django_assert_max_num_queries) -> None:
    client = signed_in(company.owner)
    url = reverse("collab:customer_comments", kwargs={"record_id": customer.pk})
    client.get(url)
    for i in range(25):
        services.comment_create(
            actor=company.admin if i % 2 else company.manager_a, record=customer, body=f"@owner {i}"
        )
    with django_assert_max_num_queries(16):
        first = client.get(url)
    assert first.content.decode().count('data-testid="comment"') == 20
    older = first.context["older"]
    with django_assert_max_num_queries(16):
        second = client.get(url, {"before": older})
    assert second.content.decode().count('data-testid="comment"') == 5


def test_the_feed_page(company, customer, django_assert_max_num_queries) -> None:
    services.comment_create(actor=company.owner, record=customer, body="hello feed")
    client = signed_in(company.manager_a)
    client.get("/feed/")
    with django_assert_max_num_queries(20):
        response = client.get("/feed/")
    html = response.content.decode()
    assert "What happened today" in html and "hello feed" in html and "New customer: Acme 上海" in html
    assert "hello feed" not in signed_in(company.manager_b).get("/feed/").content.decode()
    assert signed_in(company.manager_a).get("/feed/", {"day": "not-a-day"}).status_code == 200
    assert "Nothing happened yet." in client.get("/feed/", {"day": "2020-01-01"}).content.decode()


def test_the_unread_count_is_one_count_query(company, customer, django_assert_num_queries) -> None:
    from bridgecrm.activities.selectors import unread_count

    services.comment_create(actor=company.owner, record=customer, body="@admin one")
    services.comment_create(actor=company.owner, record=customer, body="@admin two")
    with django_assert_num_queries(1) as captured:
        assert unread_count(actor=company.admin) == 2
    assert "COUNT(" in captured.captured_queries[0]["sql"].upper()


def test_the_picker_finds_people_by_their_chinese_name(company, customer) -> None:
    company.manager_a.full_name = "李经理"
    company.manager_a.save(update_fields=["full_name"])
    client = signed_in(company.owner)
    url = reverse("collab:customer_mentionable", kwargs={"record_id": customer.pk})
    html = client.get(url, {"q": "李"}).content.decode()
    assert 'data-username="manager_a"' in html and "李经理" in html
