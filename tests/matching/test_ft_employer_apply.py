"""Who hires and where to apply, read from France Travail offers: every real offer has a place to apply."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from matching.ingest import parse_offer, parse_offers, read_offer_records

BASE: dict[str, Any] = {
    "id": "TEST1",
    "intitule": "Serveur (H/F)",
    "romeCode": "G1803",
    "dateCreation": "2025-02-01T10:00:00.000Z",
}


def test_every_real_offer_has_an_application_page_and_most_name_their_employer(offers_file: Path) -> None:
    offers, _ = parse_offers(read_offer_records(offers_file))
    assert offers and all(o.apply_url and o.apply_url.startswith("https://") for o in offers)
    named = [o for o in offers if o.employer]
    assert 0.5 < len(named) / len(offers) < 0.7  # 2,099 of 3,589 name one; the others are anonymous
    first = next(o for o in offers if o.id == "185JTQS")
    assert first.employer == "NEXT DECISION"
    assert first.apply_url == "https://candidat.francetravail.fr/offres/recherche/detail/185JTQS"


def test_the_employers_application_page_comes_first_and_only_web_links_are_kept() -> None:
    own = parse_offer(
        {
            **BASE,
            "entreprise": {"nom": "  Le   Bistrot  "},
            "contact": {"urlPostulation": "https://recrutement.example.fr/postuler/42"},
            "origineOffre": {"urlOrigine": "https://candidat.francetravail.fr/offres/recherche/detail/TEST1"},
        }
    ).offer
    assert own is not None and own.employer == "Le Bistrot"
    assert own.apply_url == "https://recrutement.example.fr/postuler/42"
    unsafe = parse_offer(
        {
            **BASE,
            "entreprise": {"nom": ""},
            "contact": {"urlPostulation": "javascript:alert(1)"},
            "origineOffre": {"urlOrigine": "https://candidat.francetravail.fr/offres/recherche/detail/TEST1"},
        }
    )
    assert unsafe.offer is not None and unsafe.offer.employer is None
    assert unsafe.offer.apply_url == "https://candidat.francetravail.fr/offres/recherche/detail/TEST1"
    assert any(w.field == "contact.urlPostulation" for w in unsafe.warnings)
    bare = parse_offer(BASE).offer
    assert bare is not None and bare.apply_url is None and bare.employer is None


def test_html_entities_are_decoded_in_every_text_people_read(offers_file: Path) -> None:
    offers = {o.id: o for o in parse_offers(read_offer_records(offers_file))[0]}
    assert offers["6846379"].title == "Infirmier D.E H/F de laboratoire d'analyse en interim"
    assert offers["0630611"].title == "Administrateur Système & Cloud - H/F"
    texts = [t for o in offers.values() for t in (o.title, o.employer or "")]
    assert not [t for t in texts if "&apos;" in t or "&amp;" in t or "&#" in t]
    described = [
        o.description for o in offers.values() if "&apos;" in o.description or "&#39;" in o.description
    ]
    assert len(described) <= 2  # of 284 (a description escaped twice keeps one level)
