"""The partner API's contract is strict and canonical (an outside review found each of these):
integers are JSON integers, a month is `YYYY-MM` and a date `YYYY-MM-DD` exactly (malformed →
400, well-formed but refused by a rule → 422), a 401 says how to authenticate, a problem names
the header or parameter it is about in the caller's words, and a 201 says where the new
resource is."""

from __future__ import annotations

import json

import pytest

from loyalty.merchants.tables import Sale, SaleReversal
from tests.partner_api.builders import BASE, GOLD, owner, problem, reverse, sale_body, sell, shop, static_code

# The till developer's words: these tests read the English ones.
EN = {"Accept-Language": "en"}
# JSON text, not Python values: `1e5` and `12800.0` must reach the server as written.
NOT_INTEGERS = {
    "text": ('"12800"', "expected an integer, got a string"),
    "float": ("12800.0", "expected an integer, got a number"),
    "exponent": ("1e5", "expected an integer, got a number"),
    "boolean": ("true", "expected an integer, got true or false"),
}


def raw_body(fields: dict, field: str, json_text: str) -> bytes:
    """The fields as JSON, with `field`'s value replaced by `json_text` verbatim."""
    return json.dumps({**fields, field: "@@"}).replace('"@@"', json_text).encode()


async def post_raw(client, path: str, auth: dict, key: str, body: bytes):
    return await client.post(
        path, content=body, headers={**auth, **EN, "Idempotency-Key": key, "Content-Type": "application/json"}
    )


@pytest.mark.parametrize("field", ["gross_fen", "discount_fen", "points_to_redeem"])
@pytest.mark.parametrize("kind", list(NOT_INTEGERS))
async def test_a_sale_amount_that_is_not_a_json_integer_is_a_400_naming_the_field(client, frozen, tmp_path, signer, field, kind):
    json_text, reason = NOT_INTEGERS[kind]
    member = await owner(tmp_path, GOLD)
    a = await shop()
    body = raw_body(sale_body(await static_code(member, signer), gross_fen=12_800), field, json_text)

    response = await post_raw(client, f"{BASE}/sales", a.auth, f"k-{field}-{kind}", body)

    assert (response.status_code, problem(response)) == (400, "/problems/validation-error"), response.text
    assert response.json()["errors"] == [{"field": field, "reason": reason, "source": "body"}]
    assert field in response.json()["detail"]
    assert await Sale.count() == 0


@pytest.mark.parametrize("kind", list(NOT_INTEGERS))
async def test_a_reversal_amount_that_is_not_a_json_integer_is_a_400_naming_the_field(client, frozen, tmp_path, signer, kind):
    json_text, reason = NOT_INTEGERS[kind]
    member = await owner(tmp_path, GOLD)
    a = await shop()
    sale = (await sell(client, a.auth, "s1", sale_body(await static_code(member, signer)))).json()

    response = await post_raw(
        client, f"{BASE}/sales/{sale['id']}/reversals", a.auth, "r1", raw_body({"reason": "退货"}, "amount_fen", json_text)
    )

    assert (response.status_code, problem(response)) == (400, "/problems/validation-error"), response.text
    nullable = reason.replace("an integer", "an integer or null")  # omitted or null: the whole rest
    assert response.json()["errors"] == [{"field": "amount_fen", "reason": nullable, "source": "body"}]
    assert await SaleReversal.count() == 0


async def test_a_well_typed_sale_is_still_accepted_and_a_string_field_still_takes_text(client, frozen, tmp_path, signer):
    member = await owner(tmp_path, GOLD)
    a = await shop()
    code = await static_code(member, signer)

    accepted = await post_raw(client, f"{BASE}/sales", a.auth, "ok", json.dumps(sale_body(code, gross_fen=12_800)).encode())
    number_as_code = await post_raw(client, f"{BASE}/sales", a.auth, "n", raw_body(sale_body(code), "code", "12345"))

    assert accepted.status_code == 201, accepted.text
    assert number_as_code.status_code == 400
    assert number_as_code.json()["errors"] == [{"field": "code", "reason": "expected a string, got an integer", "source": "body"}]


MALFORMED_MONTHS = ["2026-1", "2026-012", "+2026-12", "02026-12", "2026-13", "2026-00", "2026-٠٣", "march", "2026-03-01",
                    "2026-03.xlsx", "2026-03.CSV", " 2026-03", "2026-03.csv.csv"]


@pytest.mark.parametrize("month", MALFORMED_MONTHS)
async def test_a_month_not_written_exactly_yyyy_mm_is_a_400_naming_month(client, frozen, tmp_path, month):
    a = await shop()

    response = await client.get(f"{BASE}/settlements/{month}", headers=a.auth)

    assert (response.status_code, problem(response)) == (400, "/problems/validation-error"), (month, response.text)
    assert response.json()["errors"][0]["field"] == "month"
    assert response.json()["errors"][0]["source"] == "path"


async def test_malformed_months_and_dates_answer_alike_and_so_do_refused_ones(client, frozen, tmp_path):
    a = await shop()

    malformed_month = await client.get(f"{BASE}/settlements/2026-1", headers=a.auth)
    malformed_date = await client.get(f"{BASE}/sales", params={"start": "2026-1-01"}, headers=a.auth)
    refused_month = await client.get(f"{BASE}/settlements/1999-12", headers=a.auth)
    refused_date = await client.get(f"{BASE}/sales", params={"start": "1999-12-01"}, headers=a.auth)

    assert [(r.status_code, problem(r)) for r in (malformed_month, malformed_date)] == [(400, "/problems/validation-error")] * 2
    assert [(r.status_code, problem(r)) for r in (refused_month, refused_date)] == [(422, "/problems/invalid-field")] * 2
    assert [r.json()["errors"][0]["field"] for r in (malformed_month, malformed_date, refused_month, refused_date)] == [
        "month", "start", "month", "start",
    ]
    assert malformed_date.json()["errors"][0]["source"] == "query"


async def test_a_bad_query_value_names_its_source_as_a_plain_word(client, frozen, tmp_path):
    a = await shop()

    response = await client.get(f"{BASE}/sales", params={"limit": "ten"}, headers={**a.auth, **EN})

    assert response.status_code == 400
    assert response.json()["errors"] == [{"field": "limit", "reason": "expected an integer, got a string", "source": "query"}]


# --- 401: how to authenticate ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("authorization", "challenge"),
    [
        (None, 'Bearer realm="partner"'),
        ("Basic dXNlcjpwYXNz", 'Bearer realm="partner"'),
        ("Bearer not-one-of-ours", 'Bearer realm="partner", error="invalid_token"'),
        ("Bearer ocm_live_" + "x" * 40, 'Bearer realm="partner", error="invalid_token"'),
    ],
    ids=["no-key", "other-scheme", "not-a-key", "unknown-key"],
)
async def test_a_partner_401_carries_a_bearer_challenge(client, frozen, authorization, challenge):
    headers = {"Authorization": authorization} if authorization else {}

    response = await client.get(f"{BASE}/sales", headers=headers)

    assert (response.status_code, problem(response)) == (401, "/problems/not-authenticated")
    assert response.headers["WWW-Authenticate"] == challenge


async def test_a_key_refused_inside_the_sale_statement_carries_the_challenge_too(client, frozen, tmp_path, signer):
    member = await owner(tmp_path, GOLD)
    await shop()
    body = sale_body(await static_code(member, signer))

    response = await sell(client, {"Authorization": "Bearer ocm_live_" + "y" * 40}, "k1", body)

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="partner", error="invalid_token"'


# --- headers named as sent ---------------------------------------------------------------------


async def test_a_missing_idempotency_key_is_blamed_on_the_header(client, frozen, tmp_path, signer):
    member = await owner(tmp_path, GOLD)
    a = await shop()

    response = await client.post(
        f"{BASE}/sales", json=sale_body(await static_code(member, signer)), headers={**a.auth, **EN}
    )

    assert (response.status_code, problem(response)) == (400, "/problems/validation-error")
    assert response.json()["errors"] == [
        {"field": "Idempotency-Key", "reason": "this header is required", "source": "header"},
    ]


async def test_a_too_long_idempotency_key_is_blamed_on_the_header_by_its_name(client, frozen, tmp_path, signer):
    member = await owner(tmp_path, GOLD)
    a = await shop()

    response = await sell(client, a.auth, "k" * 101, sale_body(await static_code(member, signer)))

    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert (error["field"], error["source"]) == ("Idempotency-Key", "header")
    assert "ParamType" not in response.text


# --- 201: Location -----------------------------------------------------------------------------


async def test_a_created_sale_and_reversal_say_where_they_are_and_that_url_answers(client, frozen, tmp_path, signer):
    member = await owner(tmp_path, GOLD)
    a = await shop()
    body = sale_body(await static_code(member, signer))

    sold = await sell(client, a.auth, "s1", body)
    sold_again = await sell(client, a.auth, "s1", body)
    returned = await reverse(client, a.auth, sold.json()["id"], "r1", amount_fen=10_000)
    returned_again = await reverse(client, a.auth, sold.json()["id"], "r1", amount_fen=10_000)

    assert sold.status_code == 201
    assert sold.headers["Location"] == f"{BASE}/sales/{sold.json()['id']}"
    assert (sold_again.status_code, sold_again.headers["Location"]) == (200, sold.headers["Location"])
    assert returned.status_code == 201
    assert returned.headers["Location"] == f"{BASE}/sales/{sold.json()['id']}/reversals/{returned.json()['id']}"
    assert (returned_again.status_code, returned_again.headers["Location"]) == (200, returned.headers["Location"])
    reversal = await client.get(returned.headers["Location"], headers=a.auth)
    assert (reversal.status_code, reversal.json()) == (200, returned.json())
    sale = await client.get(sold.headers["Location"], headers=a.auth)
    assert sale.status_code == 200 and sale.json()["reversed_fen"] == 10_000


async def test_a_reversal_is_not_readable_by_another_merchant_another_store_or_under_another_sale(client, frozen, tmp_path, signer):
    member = await owner(tmp_path, GOLD)
    a = await shop(store_keys=True)
    b = await shop("别家")
    s1 = (await sell(client, a.auth, "s1", sale_body(await static_code(member, signer), store="S1"))).json()
    s2 = (await sell(client, a.auth, "s2", sale_body(await static_code(member, signer), store="S2"))).json()
    reversal = (await reverse(client, a.auth, s1["id"], "r1")).json()
    url = f"{BASE}/sales/{s1['id']}/reversals/{reversal['id']}"

    assert (await client.get(url, headers=a.store_auth("S1"))).status_code == 200
    for auth in (b.auth, a.store_auth("S2")):
        refused = await client.get(url, headers=auth)
        assert (refused.status_code, problem(refused)) == (404, "/problems/not-found")
    wrong_sale = await client.get(f"{BASE}/sales/{s2['id']}/reversals/{reversal['id']}", headers=a.auth)
    assert wrong_sale.status_code == 404


# --- the settlement CSV: one charset -----------------------------------------------------------


async def test_the_settlement_csv_names_its_charset_once(client, frozen, tmp_path):
    a = await shop()

    response = await client.get(f"{BASE}/settlements/2026-03.csv", headers=a.auth)

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
