"""Web chat session ids and allowed origins, as plain Python (the over-the-socket tests are in
test_webchat.py)."""

from __future__ import annotations

import pytest

from channels.webchat_session import SEPARATOR, SessionIds, allowed_origins

KEY = b"k" * 32


def test_a_session_id_this_server_issued_is_genuine_and_each_is_new():
    session_ids = SessionIds(KEY)
    issued = {session_ids.new() for _ in range(1000)}
    assert len(issued) == 1000
    assert all(session_ids.is_genuine(session_id) for session_id in issued)


@pytest.mark.parametrize("made_up", [
    "1", "", SEPARATOR, "abc" + SEPARATOR, SEPARATOR + "abc", "0123456789abcdef0123456789abcdef",
    None, 7, ["a.b"], {"session_id": "a.b"}, "a\ud800.b", "é" * 40 + SEPARATOR + "x",
])
def test_a_made_up_or_malformed_id_is_not_genuine(made_up):
    assert not SessionIds(KEY).is_genuine(made_up)


def test_an_altered_truncated_or_extended_id_is_not_genuine():
    session_ids = SessionIds(KEY)
    genuine = session_ids.new()
    random_part, _, signature = genuine.partition(SEPARATOR)
    flipped = "A" if signature[0] != "A" else "B"
    other_random_part = ("A" if random_part[0] != "A" else "B") + random_part[1:]
    for forged in [
        random_part + SEPARATOR + flipped + signature[1:],
        other_random_part + SEPARATOR + signature,
        genuine[:-1],
        genuine + "A",
        genuine + SEPARATOR + "A",
        random_part,
        genuine.upper(),
    ]:
        assert not session_ids.is_genuine(forged), forged


def test_an_id_signed_under_another_key_is_not_genuine():
    assert not SessionIds(KEY).is_genuine(SessionIds(b"z" * 32).new())


def test_the_random_part_is_128_bits_and_the_id_fits_a_sender_id():
    session_id = SessionIds(KEY).new()
    random_part, _, signature = session_id.partition(SEPARATOR)
    assert len(random_part) == 22 and len(signature) == 43  # 16 and 32 bytes, base64url
    assert session_id.isascii() and len(session_id) <= 128


def test_the_default_origins_are_the_demo_page_s_on_its_port():
    assert allowed_origins({}) == ["http://localhost:8080", "http://127.0.0.1:8080"]
    assert allowed_origins({"WEBCHAT_PORT": "8093"}) == ["http://localhost:8093", "http://127.0.0.1:8093"]
    assert allowed_origins({"WEBCHAT_ALLOWED_ORIGINS": " , "}) == ["http://localhost:8080", "http://127.0.0.1:8080"]


def test_the_listed_origins_are_read_as_browsers_send_them():
    listed = " https://www.Example.org/ ,http://localhost:3000,, https://clinic.example.net:8443"
    assert allowed_origins({"WEBCHAT_ALLOWED_ORIGINS": listed, "WEBCHAT_PORT": "9999"}) == [
        "https://www.example.org", "http://localhost:3000", "https://clinic.example.net:8443",
    ]


@pytest.mark.parametrize("written", [
    "www.example.org", "https://www.example.org/chat", "ftp://example.org", "https://", "*",
    "https://example.org:port", "https://user@example.org", "https://example.org?x=1",
])
def test_an_origin_written_otherwise_stops_the_start_with_its_name(written):
    with pytest.raises(ValueError, match="is not an origin") as raised:
        allowed_origins({"WEBCHAT_ALLOWED_ORIGINS": f"https://ok.example.org,{written}"})
    assert written.lower() in str(raised.value)
