import pytest

pytestmark = pytest.mark.django_db


def test_sign_in_and_home_in_both_languages(company, login):
    client = login(company.owner)
    response = client.get("/")
    assert response.status_code == 200
    assert "owner" in response.content.decode() or company.owner.full_name in response.content.decode()
    client.post("/accounts/language/", {"language": "zh-hans", "next": "/"})
    response = client.get("/")
    assert 'lang="zh-hans"' in response.content.decode()
