"""Each request finds its signed-in user afresh (``BaseModel.find``): a user deactivated since signing in is
signed out at the next request, and an active one keeps working."""

from __future__ import annotations

from station.models import User

from .conftest import login


def test_a_user_deactivated_after_signing_in_is_sent_to_the_login_page(township_app):
    client = township_app.test_client()
    login(client, "township")
    assert client.get("/").status_code == 200
    User.update(active=False).where(User.username == "township").execute()
    reply = client.get("/")
    assert reply.status_code == 302 and "/login" in reply.headers["Location"]
    User.update(active=True).where(User.username == "township").execute()
    assert client.get("/").status_code == 200
