"""Signed codes (loyalty.cards.codes) on their own: every way a code can be wrong gets its own
error type, and a dynamic code lives for its minute ±1 minute. No database."""

from __future__ import annotations

import base64
import struct

import pytest

from loyalty.cards import codes
from tests.conftest import TEST_SECRET

CARD_ID = 42
T = 60.0 * 29_683_334 + 17  # 17 s into a minute: its neighbours are T ± 60 s


@pytest.fixture
def signer() -> codes.CodeSigner:
    return codes.CodeSigner.from_secret(TEST_SECRET)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def with_part(code: str, index: int, value: str) -> str:
    parts = code.split(".")
    parts[index] = value
    return ".".join(parts)


def flip_byte(text: str, at: int) -> str:
    raw = bytearray(unb64(text))
    raw[at] ^= 0x01
    return b64(bytes(raw))


def test_a_static_code_opens_to_its_card_and_is_not_the_bare_card_number(signer):
    code = signer.sign("static", CARD_ID)

    assert code.startswith("OC1.k1.") and len(code.split(".")) == 4
    assert signer.open(code) == codes.SignedPayload(kind="static", subject_id=CARD_ID, step=0, key_id="k1")


def test_a_tampered_payload_fails_the_signature(signer):
    code = signer.sign("static", CARD_ID)
    other_card = b64(struct.pack(">cQI", b"S", CARD_ID + 1, 0))

    with pytest.raises(codes.CodeBadSignature):
        signer.open(with_part(code, 2, other_card))
    with pytest.raises(codes.CodeBadSignature):
        signer.open(with_part(code, 2, flip_byte(code.split(".")[2], 12)))


def test_a_static_code_cannot_be_turned_into_a_dynamic_one(signer):
    code = signer.sign("static", CARD_ID)
    as_dynamic = b64(struct.pack(">cQI", b"D", CARD_ID, codes.current_step(T)))

    with pytest.raises(codes.CodeBadSignature):
        signer.open(with_part(code, 2, as_dynamic))


def test_a_tampered_signature_fails(signer):
    code = signer.sign("static", CARD_ID)

    with pytest.raises(codes.CodeBadSignature):
        signer.open(with_part(code, 3, flip_byte(code.split(".")[3], 0)))


@pytest.mark.parametrize("cut", [1, 4, 20, 100])
def test_a_truncated_code_is_malformed(signer, cut):
    code = signer.sign("dynamic", CARD_ID, codes.current_step(T))

    with pytest.raises(codes.CodeMalformed):
        signer.open(code[:-cut])


def test_a_code_signed_with_a_foreign_key_fails_the_signature(signer):
    foreign = codes.CodeSigner.from_secret("other secret that is long enough 0123456789")
    code = foreign.sign("static", CARD_ID)  # same key id "k1", another key

    with pytest.raises(codes.CodeBadSignature):
        signer.open(code)


def test_a_code_signed_with_a_key_id_we_do_not_hold_is_an_unknown_key(signer):
    foreign = codes.CodeSigner.from_secret("other secret that is long enough 0123456789", key_id="k9")

    with pytest.raises(codes.CodeUnknownKey):
        signer.open(foreign.sign("static", CARD_ID))


@pytest.mark.parametrize(
    "text",
    ["", "garbage", "8860123456789012", "OC1", "OC1.k1", "OC1.k1.a.b.c", "OC2.k1.AAAA.BBBB", "OC1.k1.!!!!.????",
     "OC1.k1.%%%.%%%", "OC1.k1.AAAAAAAAAAAAAAAAAA.AAAA", "\u4f1a\u5458\u7801.k1.\u00e9.\u00e9"],
)
def test_garbage_text_is_malformed(signer, text):
    with pytest.raises(codes.CodeMalformed):
        signer.open(text)


def test_a_new_signing_key_still_verifies_codes_signed_with_the_old_one():
    old_seed, new_seed = b64(bytes(range(32))), b64(bytes(range(1, 33)))
    before = codes.CodeSigner.from_setting(f"k1:{old_seed}")
    after = codes.CodeSigner.from_setting(f"k2:{new_seed},k1:{old_seed}")

    assert after.open(before.sign("static", CARD_ID)).key_id == "k1"
    assert after.sign("static", CARD_ID).split(".")[1] == "k2"
    with pytest.raises(codes.CodeUnknownKey):
        before.open(after.sign("static", CARD_ID))


# T is 17 s into its minute: the code's minute ends 43 s later, the next one 103 s later.
@pytest.mark.parametrize("offset_seconds", [0, -17, 42, 60, 60 + 42])
def test_a_dynamic_code_is_fresh_in_its_minute_and_one_minute_of_skew_after(signer, offset_seconds):
    payload = signer.open(signer.sign("dynamic", CARD_ID, codes.current_step(T), nonce=7))

    codes.check_fresh(payload, T + offset_seconds)


@pytest.mark.parametrize("offset_seconds", [2 * 60 - 17, 2 * 60, 10 * 60])
def test_a_dynamic_code_lives_at_most_its_minute_and_one_step_of_skew(signer, offset_seconds):
    payload = signer.open(signer.sign("dynamic", CARD_ID, codes.current_step(T), nonce=7))

    with pytest.raises(codes.CodeExpired):
        codes.check_fresh(payload, T + offset_seconds)


@pytest.mark.parametrize("offset_seconds", [-18, -60, -60 - 17, -2 * 60])
def test_a_dynamic_code_for_a_minute_that_has_not_begun_is_refused(signer, offset_seconds):
    # Our servers make the codes: a code "from the future" would otherwise live a third minute.
    payload = signer.open(signer.sign("dynamic", CARD_ID, codes.current_step(T), nonce=7))

    with pytest.raises(codes.CodeExpired):
        codes.check_fresh(payload, T + offset_seconds)


def test_a_dynamic_code_carries_its_nonce_and_each_nonce_is_another_code(signer):
    step = codes.current_step(T)
    first, second = signer.sign("dynamic", CARD_ID, step, nonce=1), signer.sign("dynamic", CARD_ID, step, nonce=2)

    assert first != second
    assert (signer.open(first).nonce, signer.open(second).nonce) == (1, 2)
    assert signer.open(first).step == signer.open(second).step == step


def test_check_fresh_says_the_last_moment_a_dynamic_code_is_accepted(signer):
    step = codes.current_step(T)
    payload = signer.open(signer.sign("dynamic", CARD_ID, step))

    until = codes.check_fresh(payload, T)

    assert until == (step + 2) * 60
    codes.check_fresh(payload, until - 0.001)
    with pytest.raises(codes.CodeExpired):
        codes.check_fresh(payload, until)


# --- offline verification with public keys only ------------------------------------------


def test_verify_public_accepts_a_genuine_code_with_the_public_keys_alone(signer):
    code = signer.sign("dynamic", CARD_ID, 7)

    payload = codes.verify_public(code, signer.public_keys())

    assert payload == codes.SignedPayload(kind="dynamic", subject_id=CARD_ID, step=7, key_id="k1")


def test_verify_public_rejects_tampered_payload_and_signature(signer):
    code = signer.sign("static", CARD_ID)
    keys = signer.public_keys()

    with pytest.raises(codes.CodeBadSignature):
        codes.verify_public(with_part(code, 2, b64(struct.pack(">cQI", b"S", CARD_ID + 1, 0))), keys)
    with pytest.raises(codes.CodeBadSignature):
        codes.verify_public(with_part(code, 3, flip_byte(code.split(".")[3], 5)), keys)


def test_verify_public_rejects_a_code_signed_with_a_foreign_key(signer):
    foreign = codes.CodeSigner.from_secret("other secret that is long enough 0123456789")

    with pytest.raises(codes.CodeBadSignature):
        codes.verify_public(foreign.sign("static", CARD_ID), signer.public_keys())


@pytest.mark.parametrize("text", ["garbage", "", "OC1.k1.AAAA", "OC2.k1.AAAA.BBBB"])
def test_verify_public_rejects_garbage_as_malformed(signer, text):
    with pytest.raises(codes.CodeMalformed):
        codes.verify_public(text, signer.public_keys())


def test_verify_public_rejects_a_truncated_code(signer):
    code = signer.sign("static", CARD_ID)

    with pytest.raises((codes.CodeMalformed, codes.CodeBadSignature)):
        codes.verify_public(code[:-6], signer.public_keys())


def test_verify_public_says_unknown_key_for_a_key_id_it_does_not_hold(signer):
    foreign = codes.CodeSigner.from_secret("other secret that is long enough 0123456789", key_id="k9")

    with pytest.raises(codes.CodeUnknownKey):
        codes.verify_public(foreign.sign("static", CARD_ID), signer.public_keys())
