"""The pure rules of electronic service: content types, names, addresses, the record fold
and the acknowledgement."""

from __future__ import annotations

import pytest

from hearing_server.domain.errors import Code, HearingError
from hearing_server.domain.service import (
    check_acknowledgement,
    check_address,
    check_document,
    document_name,
    fold,
    same_name,
)


def test_a_document_type_is_told_by_its_content_not_its_name() -> None:
    assert check_document(b"%PDF-1.7 x", 100)[1:] == ("application/pdf", "pdf")
    assert check_document(b"\xff\xd8\xff\xe0 jfif", 100)[1:] == ("image/jpeg", "jpg")
    for bad in (b"<html>%PDF-", b"GIF89a", b"PK\x03\x04"):
        with pytest.raises(HearingError) as err:
            check_document(bad, 100)
        assert err.value.code is Code.SERVICE_DOCUMENT_TYPE
    with pytest.raises(HearingError) as err:
        check_document(b"%PDF-" + b"x" * 100, 100)
    assert err.value.code is Code.SERVICE_DOCUMENT_TOO_LARGE


def test_document_names_lose_paths_and_control_characters_and_keep_their_type() -> None:
    assert document_name("C:\\Users\\x\\order.pdf", "pdf") == "order.pdf"
    assert document_name("../../a\x00b\n.pdf", "pdf") == "ab.pdf"
    assert document_name("", "png") == "document.png"
    assert document_name("photo.jpeg", "jpg") == "photo.jpeg"
    assert document_name('"><script>.pdf', "pdf") == "script.pdf"
    assert len(document_name("x" * 500, "pdf")) <= 120


def test_addresses_are_checked() -> None:
    assert check_address(" sam@example.test ") == "sam@example.test"
    for bad in ("sam", "sam@", "a b@example.test", "x@example.test\r\nBcc: y@z.test", None, 3):
        with pytest.raises(HearingError) as err:
            check_address(bad)
        assert err.value.code is Code.SERVICE_BAD_ADDRESS


def test_names_match_whatever_the_case_spacing_and_width() -> None:
    assert same_name("  sam   PARTY ", "Sam Party")
    assert same_name("张三", "张三") and same_name("\uff33\uff21\uff2d", "sam")
    assert not same_name("", "") and not same_name("Sam", "Sam Party")


def served(**extra: object) -> dict[str, object]:
    return {"type": "served", "service_id": "s1", "hearing_id": "h", "participant_id": "p",
            "name": "Sam Party", "address": "a@b.test", "documents": [], "include_link": True,
            "by": "clerk1", "at": 1.0, "expires_at": 100.0, **extra}


def test_the_record_moves_forward_only() -> None:
    events = [served(), {"type": "send_failed", "service_id": "s1", "at": 2.0, "detail": "451"},
              {"type": "sent", "service_id": "s1", "at": 3.0},
              {"type": "opened", "service_id": "s1", "at": 4.0, "from": "10.0.0.1"},
              {"type": "downloaded", "service_id": "s1", "at": 5.0, "document": "d"},
              {"type": "opened", "service_id": "s1", "at": 6.0, "from": "10.0.0.2"},
              {"type": "sent", "service_id": "unknown", "at": 7.0}]
    state = fold(events)["s1"]
    assert state.status == "downloaded" and state.sent_at == 3.0
    assert [a["ok"] for a in state.attempts] == [False, True]
    assert state.to_dict()["opened_at"] == 4.0 and len(state.opened) == 2


def test_an_acknowledgement_needs_the_name_and_the_confirmation_once() -> None:
    state = fold([served()])["s1"]
    for name, confirm, code in [("Sam Party", False, Code.SERVICE_NOT_CONFIRMED),
                                ("Sam Party", "yes", Code.SERVICE_NOT_CONFIRMED),
                                ("Sam", True, Code.SERVICE_NAME_MISMATCH),
                                ("x" * 500, True, Code.SERVICE_NAME_MISMATCH),
                                (None, True, Code.SERVICE_NAME_MISMATCH)]:
        with pytest.raises(HearingError) as err:
            check_acknowledgement(state, name, confirm)
        assert err.value.code is code
    assert check_acknowledgement(state, " Sam  Party ", True) == "Sam Party"
    state.acknowledged = {"at": 1.0}
    with pytest.raises(HearingError) as err:
        check_acknowledgement(state, "Sam Party", True)
    assert err.value.code is Code.SERVICE_ALREADY_ACKNOWLEDGED
