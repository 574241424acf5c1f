"""Random session timelines for hypothesis, and how to drive a Timeline with them."""

from bisect import bisect_right
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hypothesis import strategies as st

from focusgql.domain.timeline import Status, Timeline, start

from .oracle import ENDINGS, ONE_MS, Event, Kind


def apply(timeline: Timeline, event: Event) -> Timeline:
    if event.kind is Kind.ACTIVITY:
        return timeline.record_activity(event.at)
    if event.kind is Kind.TAB_SWITCH:
        return timeline  # a tab switch is no business of the clock
    if event.kind is Kind.PAUSE:
        return timeline.pause(event.at)
    if event.kind is Kind.RESUME:
        return timeline.resume(event.at)
    assert event.end_status is not None
    return timeline.end(event.at, Status(event.end_status))


@dataclass(frozen=True, slots=True)
class Scenario:
    start: datetime
    threshold: int
    events: tuple[Event, ...]
    queries: tuple[datetime, ...]

    def states(self) -> list[Timeline]:
        """states[i]: the timeline once the first i events have happened."""
        timeline = start(self.start, self.threshold)
        result = [timeline]
        for event in self.events:
            timeline = apply(timeline, event)
            result.append(timeline)
        return result

    def known(self, now: datetime) -> int:
        """How many events have happened by `now`."""
        return bisect_right([e.at for e in self.events], now)


GAP_KINDS = ("same", "sub", "sub", "whole", "whole", "short", "short", "long")


def gap_ms(draw: st.DrawFn) -> int:
    kind = draw(st.sampled_from(GAP_KINDS))
    if kind == "same":
        return 0
    if kind == "sub":
        return draw(st.integers(1, 999))
    if kind == "whole":
        return 1000 * draw(st.integers(1, 30))
    if kind == "short":
        return draw(st.integers(1, 120_000))
    # minutes to hours, on a whole minute half the time
    if draw(st.booleans()):
        return 60_000 * draw(st.integers(1, 180))
    return draw(st.integers(60_000, 3 * 3_600_000))


NEXT_KINDS: dict[str, list[Kind]] = {
    "ACTIVE": [Kind.ACTIVITY] * 5 + [Kind.TAB_SWITCH] * 2 + [Kind.PAUSE] * 2 + [Kind.END],
    "PAUSED": [Kind.RESUME] * 3 + [Kind.ACTIVITY, Kind.TAB_SWITCH, Kind.END],
    "ENDED": [Kind.ACTIVITY, Kind.TAB_SWITCH],
}

thresholds = st.one_of(st.just(15), st.sampled_from([5, 3600]), st.integers(5, 3600))


@st.composite
def scenarios(draw: st.DrawFn, max_events: int = 25) -> Scenario:
    # whole milliseconds, anywhere in a few decades, sometimes on a whole second
    start_ms = draw(st.integers(1_500_000_000_000, 2_500_000_000_000))
    if draw(st.booleans()):
        start_ms -= start_ms % 1000
    t0 = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=start_ms)
    threshold = draw(thresholds)

    events: list[Event] = []
    offset = 0
    state = "ACTIVE"
    for _ in range(draw(st.integers(0, max_events))):
        offset += gap_ms(draw)
        kind = draw(st.sampled_from(NEXT_KINDS[state]))
        end_status = draw(st.sampled_from(ENDINGS)) if kind is Kind.END else None
        events.append(Event(t0 + timedelta(milliseconds=offset), kind, end_status))
        if kind is Kind.PAUSE:
            state = "PAUSED"
        elif kind is Kind.RESUME:
            state = "ACTIVE"
        elif kind is Kind.END:
            state = "ENDED"

    horizon = offset + draw(st.sampled_from([0, 1_000, 60_000, 2 * 3_600_000]))
    random_queries = draw(st.lists(st.integers(-5_000, horizon), max_size=12))
    queries = {t0 + timedelta(milliseconds=q) for q in random_queries}
    for event in events:
        queries |= {event.at, event.at - ONE_MS, event.at + ONE_MS}
    queries |= {t0, t0 + timedelta(milliseconds=horizon)}
    return Scenario(t0, threshold, tuple(events), tuple(sorted(queries)))
