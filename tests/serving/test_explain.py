"""The commute told to people for each precision of a workplace, and the "trop loin" refusal reading
an approximate place the way the candidate filter does."""

from __future__ import annotations

from matching.domain import Location, Offer, Precision, Profile
from serving.explain import commute_bucket, edge_km

HOME = Location(lat=47.47, lon=-0.55)  # Angers


def _offer(place: Location) -> Offer:
    return Offer(
        id="o", title="Cariste", rome_code="N1101", location=place, created_at="2025-03-01T00:00:00Z"
    )


def test_each_precision_is_told_for_what_it_is() -> None:
    person = Profile(id="p", rome_codes=("N1101",), home=HOME, max_commute_km=20)
    departement = Location(lat=47.38, lon=-0.49, precision=Precision.DEPARTEMENT, area="49", extent_km=45)
    far_departement = Location(lat=43.3, lon=5.4, precision=Precision.DEPARTEMENT, area="13", extent_km=40)
    told = {
        "point": commute_bucket(person, _offer(Location(lat=47.48, lon=-0.56, precision=Precision.COMMUNE))),
        "departement": commute_bucket(person, _offer(departement)),
        "far": commute_bucket(person, _offer(far_departement)),
        "national": commute_bucket(person, _offer(Location(precision=Precision.NATIONAL))),
        "abroad": commute_bucket(
            person, _offer(Location(label="Québec Canada", precision=Precision.COUNTRY))
        ),
        "unknown": commute_bucket(person, _offer(Location(precision=Precision.UNKNOWN))),
    }
    assert told == {
        "point": "moins de la moitié du rayon de déplacement",
        "departement": "lieu connu au département près : peut-être dans le rayon de déplacement",
        "far": "lieu connu au département près : au-delà du rayon de déplacement",
        "national": "offre nationale, sans lieu précis",
        "abroad": "à l'étranger",
        "unknown": "distance inconnue",
    }
    assert edge_km(HOME, departement) == 0.0  # Angers is inside Maine-et-Loire
    assert edge_km(HOME, far_departement) is not None and edge_km(HOME, far_departement) > 500


def test_a_too_far_refusal_narrows_the_commute_only_for_a_point() -> None:
    """Refusing a département-only offer as too far must not shrink the commute (its edge is 0 km away
    from anyone inside it): the ranker learns from that refusal; a point narrows it below its distance."""
    from matching.domain import RefusalReason
    from serving.services.alerts import subscription_changes

    person = Profile(id="p", rome_codes=("N1101",), home=HOME, max_commute_km=30)
    current = {"radius_km": 30.0, "excluded_contract_types": [], "salary_floor_monthly": None}
    departement = Location(lat=47.38, lon=-0.49, precision=Precision.DEPARTEMENT, area="49", extent_km=45)
    point = Location(lat=47.2, lon=-0.55, precision=Precision.COMMUNE)  # 30 km south of Angers
    assert subscription_changes(RefusalReason.DISTANCE, person, _offer(departement), current) == {}
    narrowed = subscription_changes(RefusalReason.DISTANCE, person, _offer(point), current)
    assert 25 < narrowed["radius_km"] < 30


def test_a_region_is_told_by_its_departements_as_the_filter_reads_it() -> None:
    """Toulouse lies inside the disc around Nouvelle-Aquitaine but 76 km from its nearest département:
    the explanation says what the candidate filter decides, not what the disc would."""
    from matching.geo import load_fallback

    area = load_fallback().region_area("75")
    assert area is not None
    region = Location(
        lat=area.lat, lon=area.lon, precision=Precision.REGION, area="75", extent_km=area.extent_km
    )
    toulouse = Location(lat=43.60, lon=1.44)
    person = Profile(id="p", rome_codes=("N1101",), home=toulouse, max_commute_km=30)
    assert edge_km(toulouse, region) is not None and edge_km(toulouse, region) > 60
    assert (
        commute_bucket(person, _offer(region))
        == "lieu connu à la région près : au-delà du rayon de déplacement"
    )
