"""Scoring a card: thresholds and ranges map raw values to points, weights make the score, a measure with no
data gives its weight to the others, and the band limits colour the result; bad definitions name the field."""

import polars as pl
import pytest

from banso.analytics.specs import SpecError
from banso.health.scoring import parse_definition, score_frame

THRESHOLDS = {"type": "thresholds", "steps": [{"min": 20, "points": 100}, {"min": 10, "points": 70}], "otherwise": 30}


def card(*measures, red_below=40, green_from=70):
    return parse_definition({"measures": list(measures), "bands": {"red_below": red_below, "green_from": green_from}})


def frame(**columns):
    n = len(next(iter(columns.values())))
    return pl.DataFrame(
        {"account_id": list(range(1, n + 1)), **columns},
        schema={"account_id": pl.Int64, **dict.fromkeys(columns, pl.Float64)},
    )


def test_thresholds_give_the_points_of_the_first_band_the_value_reaches():
    definition = card({"key": "metric:logins_30d", "weight": 1, "mapping": THRESHOLDS})
    scored = score_frame(definition, frame(**{"metric:logins_30d": [25, 20, 19.9, 10, 3]}))
    assert scored["score"].to_list() == [100, 100, 70, 70, 30]
    assert scored["r0"].to_list() == [0, 0, 1, 1, -1]
    assert scored["band"].to_list() == ["green", "green", "green", "green", "red"]


def test_a_range_is_linear_between_bad_and_good_and_clamped_in_either_direction():
    definition = card(
        {"key": "metric:logins_30d", "weight": 1, "mapping": {"type": "range", "bad": 0, "good": 20}},
        {"key": "metric:days_since_login", "weight": 1, "mapping": {"type": "range", "bad": 30, "good": 0}},
    )
    scored = score_frame(definition, frame(**{"metric:logins_30d": [5, 40, -1], "metric:days_since_login": [3, 60, 0]}))
    assert scored["p0"].to_list() == [25, 100, 0]
    assert scored["p1"].to_list() == [90, 0, 100]
    assert scored["score"].to_list() == [57.5, 50, 50]


def test_weights_make_a_weighted_mean_and_the_band_limits_colour_it():
    definition = card(
        {"key": "metric:logins_30d", "weight": 3, "mapping": THRESHOLDS},
        {"key": "inquiries:open", "weight": 1, "mapping": {"type": "range", "bad": 5, "good": 0}},
        red_below=50,
        green_from=80,
    )
    scored = score_frame(definition, frame(**{"metric:logins_30d": [25, 12, 0], "inquiries:open": [0, 5, 5]}))
    assert scored["score"].to_list() == [100, 52.5, 22.5]
    assert scored["band"].to_list() == ["green", "yellow", "red"]


def test_a_measure_without_data_shares_its_weight_among_the_others():
    definition = card(
        {"key": "metric:logins_30d", "weight": 50, "mapping": THRESHOLDS},
        {"key": "contract:days_to_renewal", "weight": 25, "mapping": {"type": "range", "bad": 0, "good": 100}},
        {"key": "inquiries:open", "weight": 25, "mapping": {"type": "range", "bad": 4, "good": 0}},
    )
    scored = score_frame(
        definition,
        frame(
            **{"metric:logins_30d": [10, None], "contract:days_to_renewal": [None, None], "inquiries:open": [1, None]}
        ),
    )
    first, second = scored.row(0, named=True), scored.row(1, named=True)
    # 70 points with 50 of 75 weight, 75 points with 25 of 75: (70*2 + 75) / 3
    assert first["score"] == pytest.approx(71.7)
    assert (round(first["w0"], 4), first["w1"], round(first["w2"], 4)) == (0.6667, 0.0, 0.3333)
    assert second["score"] is None and second["band"] is None


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"measures": []}, "measures"),
        ({"measures": [{"key": "metric:logins_30d", "weight": 0, "mapping": THRESHOLDS}]}, "measures.0.weight"),
        ({"measures": [{"key": "nowhere:x", "weight": 1, "mapping": THRESHOLDS}]}, "measures.0.key"),
        (
            {
                "measures": [
                    {"key": "metric:logins_30d", "weight": 1, "mapping": {"type": "range", "bad": 3, "good": 3}}
                ]
            },
            "measures.0.mapping",
        ),
        (
            {
                "measures": [
                    {
                        "key": "metric:logins_30d",
                        "weight": 1,
                        "mapping": {"type": "thresholds", "steps": [{"min": 1, "points": 50}, {"min": 5, "points": 9}]},
                    }
                ]
            },
            "measures.0.mapping.steps",
        ),
        (
            {
                "measures": [
                    {
                        "key": "metric:logins_30d",
                        "weight": 1,
                        "mapping": {"type": "thresholds", "steps": [{"min": 1, "points": 150}]},
                    }
                ]
            },
            "measures.0.mapping.steps.0.points",
        ),
        (
            {
                "measures": [{"key": "metric:logins_30d", "weight": 1, "mapping": THRESHOLDS}],
                "bands": {"red_below": 80, "green_from": 60},
            },
            "bands",
        ),
    ],
)
def test_a_bad_definition_is_refused_naming_the_field(data, field):
    with pytest.raises(SpecError) as caught:
        parse_definition(data)
    assert field in [f for f, _m in caught.value.errors]
