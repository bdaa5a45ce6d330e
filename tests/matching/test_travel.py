"""Estimated commute minutes by means of transport and area density."""

from __future__ import annotations

import numpy as np

from matching.travel import commute_budget_minutes, density_rank, mode_index, travel_minutes


def test_unknown_modes_read_as_a_car() -> None:
    assert mode_index(["voiture", None, "transports_en_commun", "trottinette"]).tolist() == [0, 0, 1, 0]


def test_minutes_grow_with_distance_and_depend_on_mode_and_density() -> None:
    km = np.array([5.0, 10.0, 20.0])
    sparse, dense = np.zeros(3), np.ones(3)
    car = travel_minutes(km, ["voiture"] * 3, sparse)
    assert (np.diff(car) > 0).all()
    assert (travel_minutes(km, ["voiture"] * 3, dense) > car).all()  # traffic
    bus_sparse = travel_minutes(km, ["transports_en_commun"] * 3, sparse)
    assert (travel_minutes(km, ["transports_en_commun"] * 3, dense) < bus_sparse).all()  # better service
    assert (travel_minutes(km, ["marche"] * 3, sparse) > bus_sparse).all()
    assert np.isnan(travel_minutes(np.array([np.nan]), ["voiture"], np.array([0.5])))[0]


def test_budget_is_the_declared_minutes_else_the_radius_at_the_modes_speed() -> None:
    budget = commute_budget_minutes(
        np.array([45.0, np.nan, np.nan]), np.array([10.0, 10.0, 10.0]), ["voiture", "voiture", "velo"]
    )
    assert budget[0] == 45.0
    assert 15 < budget[1] < 30 and budget[2] > budget[1]


def test_density_ranks_places_by_their_neighbours() -> None:
    city = np.column_stack([48.85 + np.linspace(0, 0.02, 20), 2.35 + np.linspace(0, 0.02, 20)])
    village = np.array([[45.0, 3.0]])
    places = np.vstack([city, village, [[np.nan, np.nan]]])
    rank = density_rank(places[:, 0], places[:, 1])
    assert np.isnan(rank[-1]) and rank[20] == 0.0 and (rank[:20] > 0.5).all()
