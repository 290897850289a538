"""`loket token create EMAIL`: prints a token that opens the API for that agent."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from loket.accounts.models import ApiToken
from loket.accounts.tokens import authenticate
from loket.conftest import Shop


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_the_printed_token_authenticates_the_agent(shop: Shop, client: Client) -> None:
    out, err = StringIO(), StringIO()
    call_command("token", "create", "Budi@BatikSari.id", "--name", "n8n", stdout=out, stderr=err)
    token = out.getvalue().strip()
    assert token.startswith("lkt_")
    assert "\n" not in token  # the token alone: TOKEN=$(loket token create ...)
    assert authenticate(token) == shop.budi
    record = ApiToken.objects.get(user=shop.budi)
    assert record.name == "n8n"
    assert token not in (record.digest, record.prefix)  # stored hashed
    assert "only this once" in err.getvalue()
    response = client.get("/api/v1/tickets", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200


def test_an_unknown_or_deactivated_agent_gets_no_token(shop: Shop) -> None:
    with pytest.raises(CommandError, match=r"No agent has the email nobody@batiksari\.id"):
        call_command("token", "create", "nobody@batiksari.id", stdout=StringIO())
    shop.wati.is_active = False
    shop.wati.save()
    with pytest.raises(CommandError, match="deactivated"):
        call_command("token", "create", "wati@batiksari.id", stdout=StringIO())
    assert not ApiToken.objects.exists()
