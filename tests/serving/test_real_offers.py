"""Real offers served end to end: every page and endpoint on the official ROME and the La Poste base.

A database holds a small world anchored on the 3,589 real offers of the reference file (official
referential, La Poste communes) and the real offers themselves, ingested; the indexes hold both. Every
real offer — unknown to the built-in referential for half of them, without coordinates, national —
gets its offer page and its candidate list without a server error.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from matching.candidates import CandidateGenerator
from matching.domain import Offer, Profile
from matching.encoders import HashingEncoder
from matching.referential import Referential
from serving.app import create_app
from serving.container import ServingContainer
from serving.security import Role
from tests.serving.demo import Demo

# Real offers every default run opens (seeded), about 0.2 s each on 2 cores; the slow test opens all.
SAMPLE, UNPLACED = 100, 40
INSEE = re.compile(r"\b(?:\d{5}|2[AB]\d{3})\b")


@dataclass
class RealApi:
    client: TestClient
    counsellor: TestClient  # logged in on the pages (cookie)
    jobseeker: TestClient
    container: ServingContainer
    offers: list[Offer]
    token: str  # the counsellor's bearer token


@pytest.fixture(scope="module")
def real_api(demo: Demo) -> Iterator[RealApi]:
    container = demo.container
    token = container.tokens.create(Role.COUNSELLOR, "agent-real")
    person = str(demo.world.profiles["id"].iloc[0])
    with TestClient(create_app(container)) as client:
        pages = {}
        for who, secret in (
            ("counsellor", token),
            ("jobseeker", container.tokens.create(Role.JOBSEEKER, person)),
        ):
            pages[who] = TestClient(client.app)
            assert (
                pages[who]
                .post("/pages/connexion", data={"jeton": secret}, follow_redirects=False)
                .status_code
                == 303
            )
        yield RealApi(client, pages["counsellor"], pages["jobseeker"], container, demo.real_offers, token)


def _open_offer(
    api: RealApi, offer: Offer, *, with_list: bool = True
) -> tuple[int, int, list[dict[str, object]]]:
    """The offer page and (``with_list``) the candidate list: their status codes and the candidates."""
    page = api.counsellor.get(f"/pages/offres/{offer.id}")
    if page.status_code == 200:
        place = re.search(r"<p>Lieu : ([^<]*)</p>", page.text)
        assert place is not None and not INSEE.fullmatch(place.group(1).strip()), place
    if not with_list:
        return page.status_code, 200, []
    listed = api.client.get(
        f"/offers/{offer.id}/candidates?k=20", headers={"Authorization": f"Bearer {api.token}"}
    )
    candidates = listed.json()["candidates"] if listed.status_code == 200 else []
    return page.status_code, listed.status_code, candidates


def _check(api: RealApi, offers: list[Offer], *, with_list: bool = True) -> None:
    errors, found, located = [], 0, 0
    for offer in offers:
        page, listed, candidates = _open_offer(api, offer, with_list=with_list)
        if page != 200 or listed != 200:  # every real offer has its page and its list, not only no 5xx
            errors.append(f"{offer.id} ({offer.rome_code}, {offer.location}): page {page}, list {listed}")
        if offer.location.has_coordinates and with_list:
            located += 1
            found += bool(candidates) and all(c["why"]["rome_relation"] for c in candidates)  # type: ignore[index]
    assert not errors, "\n".join(errors[:10])
    # the anchored world gives most located offers a consenting candidate with an explanation; this
    # world is small (the 95 % goal is measured on the demo world by `matching eval served`)
    assert not with_list or found / located >= 0.8, f"{found}/{located}"


def test_a_seeded_sample_of_real_offers_opens_without_server_error(
    real_api: RealApi, builtin: Referential
) -> None:
    """100 real offers and 40 without coordinates (national, regional, département), drawn with a seed."""
    draw = random.Random(16)
    offers = draw.sample(real_api.offers, SAMPLE)
    unplaced = draw.sample([o for o in real_api.offers if not o.location.has_coordinates], UNPLACED)
    assert any(o.location.insee is None for o in unplaced)
    assert any(o.rome_code not in builtin.fiches for o in offers)  # the codes that answered 500
    _check(real_api, list({o.id: o for o in [*offers, *unplaced]}.values()))


@pytest.mark.slow
def test_every_real_offer_opens_without_server_error(real_api: RealApi) -> None:
    """All 3,589 real offers of the reference file open their page (which ranks the offer's candidates
    and suggests its trainings); the API's list, the same ranking, is checked on the seeded sample
    above (both for every offer took ~25 minutes on 2 cores, this 12.6)."""
    _check(real_api, real_api.offers, with_list=False)


def test_poe_and_trainings_page_for_real_offers(real_api: RealApi) -> None:
    headers = {"Authorization": f"Bearer {real_api.token}"}
    for offer in random.Random(7).sample(real_api.offers, 60):
        poe = real_api.client.get(f"/poe/suggestions?offer_id={offer.id}", headers=headers)
        assert poe.status_code == 200, poe.text
        page = real_api.jobseeker.get(f"/pages/formations?offer_id={offer.id}")
        assert page.status_code == 200, page.text


def test_alert_places_are_names(real_api: RealApi) -> None:
    """An alert names its place (the offer's label or its commune), never a bare INSEE code."""
    from serving.services.alerts import offer_summary

    stored = real_api.container.repository.get_offer("SIM0000001")
    assert stored is not None and stored.location.insee
    # loaded with its commune's name as label (`matching sample --load`), and named without it too
    assert stored.location.label == real_api.container.communes.name_of(stored.location.insee)  # type: ignore[union-attr]
    simulated = stored.model_copy(update={"location": stored.location.model_copy(update={"label": None})})
    place = offer_summary(simulated, real_api.container.communes).location
    assert place and not INSEE.search(place), place
    real = next(o for o in real_api.offers if o.location.label)
    assert offer_summary(real, real_api.container.communes).location == real.location.label


def test_codes_unknown_to_the_referential_are_not_a_server_error(
    real_offers: list[Offer], builtin: Referential
) -> None:
    """Real offers indexed and queried on the built-in referential, which lacks half their codes."""
    unknown = [o for o in real_offers if o.rome_code not in builtin.fiches][:50]
    assert unknown
    generator = CandidateGenerator(referential=builtin, encoder=HashingEncoder())
    generator.index_offers(unknown)
    generator.index_profiles([])
    for offer in unknown[:10]:
        generator.recommend_profiles(offer, k=5)  # was UnknownCodeError: unknown ROME code
    first = unknown[0]
    person = Profile(id="P-unknown", rome_codes=(first.rome_code,), home=first.location, max_commute_km=50)
    ids, _ = generator.recommend_offers(person, k=5)
    assert first.id in ids.tolist()  # the code's own block still answers
