"""Comments, mentions and followers: who reads, who is notified (exactly once), who may change."""

from __future__ import annotations

import pytest

from bridgecrm.activities.models import Notification, NotificationKind
from bridgecrm.activities.selectors import notification_list, notification_text
from bridgecrm.collab import selectors, services, text
from bridgecrm.collab.models import Comment, Follower, Mention
from bridgecrm.core.errors import ApplicationError, NotFound, PermissionDenied
from bridgecrm.core.models import AuditEntry
from bridgecrm.core.timeline import customer_timeline
from bridgecrm.customers.models import Customer
from bridgecrm.customers.tests.factories import make_customer
from bridgecrm.pipeline import services as pipeline_services
from bridgecrm.pipeline.tests.factories import make_pipeline

pytestmark = pytest.mark.django_db


def _inbox(user, kind: str) -> list[Notification]:
    return list(Notification.objects.filter(recipient=user, kind=kind))


def _notified(kind: str) -> dict[str, int]:
    """username → how many notifications of ``kind`` they got."""
    counts: dict[str, int] = {}
    for n in Notification.objects.filter(kind=kind).select_related("recipient"):
        counts[n.recipient.username] = counts.get(n.recipient.username, 0) + 1
    return counts


@pytest.fixture
def customer(company) -> Customer:
    return make_customer(company.owner, name="Acme 上海")


@pytest.fixture
def deal(company, customer):
    make_pipeline(company.admin)
    return pipeline_services.deal_create(actor=company.owner, customer=customer, name="Acme renewal")


# ---- visibility ------------------------------------------------------------------------------------


def test_only_those_who_see_the_record_reach_its_comments(company, customer, deal) -> None:
    services.comment_create(actor=company.owner, record=customer, body="First call went well")
    services.comment_create(actor=company.owner, record=deal, body="Budget approved")
    for actor in (company.owner, company.manager_a, company.admin):
        assert selectors.record_get(actor=actor, kind="customer", record_id=customer.pk) == customer
        assert selectors.record_get(actor=actor, kind="deal", record_id=deal.pk) == deal
        assert Comment.objects.visible_to(actor).count() == 2
    for actor in (company.teammate, company.other_rep, company.manager_b):
        with pytest.raises(NotFound):
            selectors.record_get(actor=actor, kind="customer", record_id=customer.pk)
        with pytest.raises(NotFound):
            selectors.record_get(actor=actor, kind="deal", record_id=deal.pk)
        assert Comment.objects.visible_to(actor).count() == 0
        comment = Comment.objects.first()
        assert comment is not None
        with pytest.raises(NotFound):
            selectors.comment_get(actor=actor, comment_id=comment.pk)
    with pytest.raises(NotFound):
        selectors.record_get(actor=company.owner, kind="contract", record_id=customer.pk)


def test_viewers_are_exactly_the_people_the_visibility_rule_lets_see(company, customer, deal) -> None:
    customer.collaborators.add(company.teammate)
    everyone = [company.owner, company.teammate, company.other_rep, company.manager_a, company.manager_b, company.admin]
    for record in (customer, deal):
        expected = {u.username for u in everyone if selectors.sees_record(u, record)}
        assert {u.username for u in selectors.viewers(record)} == expected
    assert {u.username for u in selectors.viewers(customer)} == {"owner", "teammate", "manager_a", "admin"}
    assert {u.username for u in selectors.viewers(deal)} == {"owner", "manager_a", "admin"}


def test_the_mention_picker_offers_only_people_who_see_the_record(company, customer) -> None:
    offered = selectors.mentionable(actor=company.owner, record=customer, query="")
    assert [u.username for u in offered] == ["admin", "manager_a"]  # not the author, not team B, not teammate
    assert [u.username for u in selectors.mentionable(actor=company.owner, record=customer, query="@man")] == [
        "manager_a"
    ]
    assert selectors.mentionable(actor=company.owner, record=customer, query="other_rep") == []


# ---- mentions --------------------------------------------------------------------------------------


def test_mentions_notify_each_mentioned_person_once_with_a_link(company, customer) -> None:
    comment = services.comment_create(
        actor=company.owner, record=customer, body="@manager_a please look, and @admin too. cc @manager_a"
    )
    assert sorted(m.user.username for m in Mention.objects.filter(comment=comment)) == ["admin", "manager_a"]
    assert _notified(NotificationKind.MENTION) == {"admin": 1, "manager_a": 1}
    assert _notified(NotificationKind.COMMENT) == {}  # the only follower is the owner, who wrote it
    note = _inbox(company.manager_a, NotificationKind.MENTION)[0]
    assert note.url == f"/customers/{customer.pk}/#comment-{comment.pk}"
    assert notification_text(note) == f"{company.owner.display_name} mentioned you in a comment on Acme 上海"
    # Editing without a new name notifies nobody again; a newly named person is told once.
    services.comment_edit(actor=company.owner, comment=comment, body="@manager_a please look, and @admin too!")
    assert _notified(NotificationKind.MENTION) == {"admin": 1, "manager_a": 1}
    services.comment_edit(actor=company.owner, comment=comment, body="@admin only now")
    assert [m.user.username for m in Mention.objects.filter(comment=comment)] == ["admin"]
    assert _notified(NotificationKind.MENTION) == {"admin": 1, "manager_a": 1}


def test_mentioning_someone_who_cannot_see_the_record_is_refused_and_nothing_is_written(company, customer) -> None:
    before = (Comment.objects.count(), Notification.objects.count(), AuditEntry.objects.count())
    with pytest.raises(ApplicationError) as refused:
        services.comment_create(actor=company.owner, record=customer, body="@manager_a and @other_rep, see this")
    assert refused.value.code == "mention_not_visible"
    assert "@other_rep cannot see this customer" in str(refused.value.message)
    assert "manager_a" not in str(refused.value.message)
    assert (Comment.objects.count(), Notification.objects.count(), AuditEntry.objects.count()) == before


def test_an_at_sign_that_names_nobody_is_plain_text(company, customer) -> None:
    comment = services.comment_create(actor=company.owner, record=customer, body="mail a@b.com or @nobody here")
    assert not Mention.objects.filter(comment=comment).exists()
    assert not Notification.objects.exists()


def test_mention_parsing() -> None:
    body = "@alice, hi @bob.smith. mail x@carol.com, see https://x.cn/@dave (@eve)\n@alice"
    assert text.mentioned_usernames(body) == ["alice", "bob.smith", "eve"]


def test_bodies_are_shown_escaped_linked_and_with_line_breaks() -> None:
    html = str(text.render_body('<script>alert(1)</script>\nsee https://example.com/a?b=1&c=2 @ann "x"', ["ann"]))
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;<br>" in html
    assert '<a href="https://example.com/a?b=1&amp;c=2" rel="nofollow">https://example.com/a?b=1&amp;c=2</a>' in html
    assert '<span class="mention">@ann</span>' in html
    assert "&quot;x&quot;" in html
    assert "<a" not in str(text.render_body("javascript:alert(1) data:text/html,<b>x</b>"))


# ---- followers -------------------------------------------------------------------------------------


def test_followers_hear_of_new_comments_once_and_never_their_own(company, customer) -> None:
    assert selectors.follower_ids(customer) == {company.owner.pk}  # the owner follows by default
    assert services.follow_set(actor=company.manager_a, record=customer, following=True) is True
    assert services.follow_set(actor=company.manager_a, record=customer, following=True) is False
    services.comment_create(actor=company.admin, record=customer, body="Any news?")
    assert _notified(NotificationKind.COMMENT) == {"owner": 1, "manager_a": 1}
    assert selectors.is_following(user=company.admin, record=customer)  # a commenter follows
    # A follower who is mentioned gets the mention only: one notification per comment and person.
    services.comment_create(actor=company.owner, record=customer, body="@admin yes: signed today")
    assert _notified(NotificationKind.MENTION) == {"admin": 1}
    assert _notified(NotificationKind.COMMENT) == {"owner": 1, "manager_a": 2}
    note = _inbox(company.manager_a, NotificationKind.COMMENT)[0]
    assert notification_text(note) == f"{company.owner.display_name} commented on Acme 上海"  # newest first


def test_the_owner_may_unfollow_and_follow_again(company, customer) -> None:
    assert services.follow_set(actor=company.owner, record=customer, following=False) is True
    assert Follower.objects.get(user=company.owner, customer=customer).active is False
    assert not selectors.is_following(user=company.owner, record=customer)
    services.comment_create(actor=company.admin, record=customer, body="Checking in")
    assert _notified(NotificationKind.COMMENT) == {}
    services.follow_set(actor=company.owner, record=customer, following=True)
    services.comment_create(actor=company.manager_a, record=customer, body="Checking in again")
    assert _notified(NotificationKind.COMMENT) == {"owner": 1, "admin": 1}
    events = AuditEntry.objects.filter(event__in=["record_followed", "record_unfollowed"]).count()
    assert events == 2


def test_a_follower_who_lost_sight_of_the_record_is_not_told(company, customer) -> None:
    customer.collaborators.add(company.teammate)
    services.follow_set(actor=company.teammate, record=customer, following=True)
    customer.collaborators.remove(company.teammate)
    company.teammate.forget_cached_permissions()
    services.comment_create(actor=company.owner, record=customer, body="Internal only now")
    assert _notified(NotificationKind.COMMENT) == {}


def test_deal_comments_follow_the_deal_not_the_customer(company, customer, deal) -> None:
    customer.collaborators.add(company.teammate)  # sees the customer, not the deal
    with pytest.raises(ApplicationError) as refused:
        services.comment_create(actor=company.owner, record=deal, body="@teammate can you help?")
    assert "cannot see this deal" in str(refused.value.message)
    comment = services.comment_create(actor=company.manager_a, record=deal, body="Push for Q4")
    assert comment.deal_id == deal.pk and comment.customer_id is None
    assert _notified(NotificationKind.COMMENT) == {"owner": 1}
    assert _inbox(company.owner, NotificationKind.COMMENT)[0].url == f"/deals/{deal.pk}/#comment-{comment.pk}"


# ---- edit and delete -------------------------------------------------------------------------------


def test_only_the_author_edits_or_deletes_and_deleting_is_soft(company, customer) -> None:
    comment = services.comment_create(actor=company.owner, record=customer, body="Draft")
    for other in (company.manager_a, company.admin):
        with pytest.raises(PermissionDenied):
            services.comment_edit(actor=other, comment=comment, body="Hijacked")
        with pytest.raises(PermissionDenied):
            services.comment_delete(actor=other, comment=comment)
    edited = services.comment_edit(actor=company.owner, comment=comment, body="Final")
    assert edited.body == "Final" and edited.edited_at is not None
    change = AuditEntry.objects.for_object(comment).get(field="body")
    assert (change.old_value, change.new_value) == ("Draft", "Final")
    deleted = services.comment_delete(actor=company.owner, comment=edited)
    assert deleted.deleted_at is not None
    assert Comment.objects.filter(pk=comment.pk).exists()
    with pytest.raises(NotFound):
        services.comment_edit(actor=company.owner, comment=deleted, body="Back")
    page = selectors.comment_list(actor=company.owner, record=customer)
    assert [c.pk for c in page.comments] == [comment.pk]  # still in the thread, as a placeholder
    assert AuditEntry.objects.for_object(comment).filter(action="delete").count() == 1


@pytest.mark.parametrize(("body", "code"), [("", "required"), ("   \n ", "required"), ("x" * 5001, "too_long")])
def test_empty_or_long_bodies_are_refused(company, customer, body, code) -> None:
    with pytest.raises(ApplicationError) as refused:
        services.comment_create(actor=company.owner, record=customer, body=body)
    assert refused.value.code == code
    assert not Comment.objects.exists()


def test_too_many_mentions_are_refused(company, customer) -> None:
    body = " ".join(f"@user{i}" for i in range(21))
    with pytest.raises(ApplicationError) as refused:
        services.comment_create(actor=company.owner, record=customer, body=body)
    assert refused.value.code == "too_many"


# ---- pages of comments, the timeline, the inbox ------------------------------------------------------


def test_comment_pages_are_keyset_and_complete(company, customer, django_assert_max_num_queries) -> None:
    made = [services.comment_create(actor=company.owner, record=customer, body=f"note {i}").pk for i in range(7)]
    seen: list[int] = []
    before = None
    while True:
        with django_assert_max_num_queries(3):
            page = selectors.comment_list(actor=company.owner, record=customer, before=before, limit=3)
        seen += [c.pk for c in page.comments]
        if not page.older:
            break
        before = page.older
    assert seen == list(reversed(made))
    assert selectors.decode_cursor("not-a-cursor") is None


def test_comments_appear_on_the_customer_timeline(company, customer) -> None:
    comment = services.comment_create(actor=company.owner, record=customer, body="On the timeline")
    items = [i for i in customer_timeline(actor=company.owner, customer=customer) if i.kind == "comment"]
    assert [(i.detail, i.url) for i in items] == [
        ("On the timeline", f"/customers/{customer.pk}/#comment-{comment.pk}")
    ]
    services.comment_delete(actor=company.owner, comment=comment)
    assert not [i for i in customer_timeline(actor=company.owner, customer=customer) if i.kind == "comment"]


def test_the_inbox_filters_by_kind(company, customer) -> None:
    services.comment_create(actor=company.owner, record=customer, body="@admin hello")
    services.comment_create(actor=company.manager_a, record=customer, body="hi")
    assert notification_list(actor=company.admin, kind=NotificationKind.MENTION).count() == 1
    assert notification_list(actor=company.admin, kind=NotificationKind.COMMENT).count() == 0
    assert notification_list(actor=company.owner, kind=NotificationKind.COMMENT).count() == 1
    assert notification_list(actor=company.owner, kind="bogus").count() == 1  # an unknown kind is no filter
