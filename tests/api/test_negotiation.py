"""Content negotiation's rule against a brute-force oracle (focusgql/api/negotiation.py)."""

from hypothesis import given
from hypothesis import strategies as st

from focusgql.api.negotiation import GRAPHQL_RESPONSE_JSON, JSON, response_media_type

MEDIA = [
    GRAPHQL_RESPONSE_JSON,
    JSON,
    "application/*",
    "*/*",
    "text/html",
    "text/*",
    "application/xml",
    "text/event-stream",
]
SPECIFICITY = {GRAPHQL_RESPONSE_JSON: 3, JSON: 3, "application/*": 2, "*/*": 1}


def oracle(entries: list[tuple[str, float]]) -> str | None:
    """Score every answer by walking every entry: the most specific range that
    covers it decides its quality (wildcards cover application/json only);
    the better answer wins, the spec's own media type on a tie; none: 406."""
    scores = {}
    for answer in (GRAPHQL_RESPONSE_JSON, JSON):
        best_rank, quality = 0, 0.0
        for media, q in entries:
            covers = media == answer or (answer == JSON and media in ("application/*", "*/*"))
            if covers and SPECIFICITY[media] > best_rank:
                best_rank, quality = SPECIFICITY[media], q
        scores[answer] = quality
    if max(scores.values()) == 0:
        return None
    return GRAPHQL_RESPONSE_JSON if scores[GRAPHQL_RESPONSE_JSON] >= scores[JSON] else JSON


def header(entries: list[tuple[str, float]]) -> str:
    return ", ".join(media if q == 1 else f"{media};q={q:g}" for media, q in entries)


@given(
    st.lists(
        st.tuples(st.sampled_from(MEDIA), st.sampled_from([0, 0.1, 0.5, 0.9, 1])),
        min_size=1,
        max_size=6,
        unique_by=lambda entry: entry[0],
    )
)
def test_the_answer_follows_the_clients_qualities(entries: list[tuple[str, float]]) -> None:
    assert response_media_type(header(entries)) == oracle(entries)


def test_no_accept_is_the_legacy_type() -> None:
    assert response_media_type(None) == response_media_type("") == JSON
