"""The one paging guard every provider's list paging stops by (``providers.paging.PageGuard``)."""

from __future__ import annotations

from mcp_livecalls.providers.paging import PageGuard


def test_new_ids_are_marked_and_an_id_seen_before_or_twice_in_a_page_is_not() -> None:
    guard = PageGuard(max_pages=5)

    assert guard.fresh(["a", "b", "a", None]) == [True, True, False, True]
    assert guard.fresh(["b", "c"]) == [False, True]
    assert (guard.stopped, guard.notes, guard.seen) == (False, [], {"a", "b", "c"})


def test_a_page_that_adds_no_new_call_stops_the_list_with_one_note() -> None:
    guard = PageGuard(max_pages=5, list_name="the queued list", calls="queued calls")
    guard.fresh(["a", "b"])

    assert guard.fresh(["b", "a", None]) == [False, False, False]
    assert guard.stopped
    assert not guard.page()
    assert guard.notes == [
        "a page of the queued list repeated calls already listed (it added nothing); paging stopped "
        "there, so more queued calls may exist"
    ]


def test_a_page_known_to_be_read_before_stops_the_list_though_its_ids_are_new_here() -> None:
    guard = PageGuard(max_pages=5)

    assert guard.fresh(["a"], known=True) == [False]
    assert guard.stopped
    assert len(guard.notes) == 1


def test_an_empty_page_or_one_without_ids_is_no_stall() -> None:
    guard = PageGuard(max_pages=5)

    assert guard.fresh([]) == []
    assert guard.fresh([None, None]) == [True, True]
    assert not guard.stopped


def test_a_cursor_given_before_is_not_followed_and_says_why() -> None:
    guard = PageGuard(max_pages=5)

    assert guard.follows("k1")
    assert guard.follows("k2")
    assert not guard.follows("k1")
    assert guard.notes == [
        "the list gave a next-page cursor it had given before (a repeated cursor); paging stopped "
        "there, so more live calls may exist"
    ]


def test_a_cursor_known_to_lead_back_is_refused_the_first_time_it_is_seen() -> None:
    guard = PageGuard(max_pages=5)

    assert not guard.follows("k9", known=True)
    assert guard.stopped


def test_the_page_bound_stops_the_list_with_what_was_read() -> None:
    guard = PageGuard(max_pages=2)

    asked = 0
    while guard.page():
        guard.fresh([f"call-{asked}"])
        asked += 1

    assert asked == 2
    assert guard.notes == ["the list was read to 2 pages (2 calls) and stopped; more live calls may exist"]
