from django.test import Client


def test_login_then_whoami_zero_queries(bob_client: Client, django_assert_num_queries) -> None:
    with django_assert_num_queries(0):
        response = bob_client.get("/whoami/")
    assert response.json() == {
        "authenticated": True,
        "id": response.json()["id"],
        "username": "bob",
        "is_staff": False,
        "is_superuser": False,
        "roles": ["editor"],
        "tier": "pro",
        "flags": ["beta"],
    }
