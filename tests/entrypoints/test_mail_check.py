"""The dispatcher refuses to e-mail real people with links that cannot work."""

from __future__ import annotations

import pytest

from entrypoints.bootstrap import check_mail_delivery
from entrypoints.settings import Settings
from matching.errors import MatchingError

SECRET = "s" * 40


@pytest.mark.parametrize("url", [None, "smtp://127.0.0.1:2525", "smtp://localhost", "smtp://[::1]:25"])
def test_a_server_on_this_machine_needs_nothing(url: str | None) -> None:
    check_mail_delivery(Settings(link_secret=None, public_url="http://localhost:8000"), url)


def test_a_relay_elsewhere_needs_the_shared_secret_and_an_https_address() -> None:
    relay = "smtp://relais.example.org"
    with pytest.raises(MatchingError, match="MATCHING_LINK_SECRET"):
        check_mail_delivery(Settings(link_secret=None, public_url="https://emploi.example.org"), relay)
    for public in ("http://emploi.example.org", "https://localhost:8000", "https://127.0.0.1"):
        with pytest.raises(MatchingError, match="MATCHING_PUBLIC_URL"):
            check_mail_delivery(Settings(link_secret=SECRET, public_url=public), relay)
    check_mail_delivery(Settings(link_secret=SECRET, public_url="https://emploi.example.org"), relay)
