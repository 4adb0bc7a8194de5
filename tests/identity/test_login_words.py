"""The words of the login refusals, in the reader's language: an owner on a phone reads them."""

from __future__ import annotations

import re

import pytest

from tests.identity.builders import MEMBER_PHONE, latest_code, wrong_code

CJK = re.compile(r"[\u4e00-\u9fff]")
# Latin words in a text, the field's own name aside.
ENGLISH_WORD = re.compile(r"[A-Za-z]{2,}")


def english_words(text: str, *, besides: str) -> list[str]:
    return [word for word in ENGLISH_WORD.findall(text) if word != besides]


async def test_a_phone_that_is_not_a_number_is_refused_in_chinese(client, database):
    response = await client.post("/api/v1/auth/login-codes", json={"phone": "12345"}, headers={"Accept-Language": "zh-CN"})

    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["errors"][0]["field"] == "phone"
    for text in (problem["detail"], problem["errors"][0]["reason"]):
        assert CJK.search(text), text
        assert english_words(text, besides="phone") == [], text
    assert problem["detail"] == "「12345」不是有效的手机号码"


async def test_the_same_refusal_in_english(client, database):
    response = await client.post("/api/v1/auth/login-codes", json={"phone": "12345"}, headers={"Accept-Language": "en"})

    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["detail"] == problem["errors"][0]["reason"] == "'12345' is not a valid phone number"
    assert not CJK.search(problem["detail"] + problem["title"])


@pytest.mark.parametrize(
    ("language", "sent"),
    [("zh-CN", "如果该手机号是会员手机号，验证码将很快发送。"), ("en", "If this phone belongs to a member, a code is on its way.")],
    ids=["zh-CN", "en"],
)
async def test_the_answer_to_a_code_request_is_in_the_readers_language(client, database, language, sent):
    response = await client.post("/api/v1/auth/login-codes", json={"phone": MEMBER_PHONE}, headers={"Accept-Language": language})

    assert response.status_code == 202
    assert response.json()["detail"] == sent


@pytest.mark.parametrize(
    ("language", "left"), [("zh-CN", "验证码错误，还可再试 4 次。"), ("en", "Wrong code; 4 attempts left.")], ids=["zh-CN", "en"]
)
async def test_a_wrong_code_says_how_many_attempts_are_left_as_a_real_plural(client, member_id, language, left):
    await client.post("/api/v1/auth/login-codes", json={"phone": MEMBER_PHONE})

    response = await client.post(
        "/api/v1/auth/sessions", json={"phone": MEMBER_PHONE, "code": wrong_code(await latest_code())},
        headers={"Accept-Language": language},
    )

    assert response.status_code == 401
    assert response.json()["detail"] == left
