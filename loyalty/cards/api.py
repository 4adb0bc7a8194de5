"""The card faces: the member's card, code and image; staff checks and card actions."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

from litestar import Controller, Request, Response, get, post, put
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_204_NO_CONTENT, HTTP_304_NOT_MODIFIED

from loyalty import clock
from loyalty.cards import image, service
from loyalty.cards.numbers import mask_card_number
from loyalty.cards.schemas import (
    CardView,
    CodeCheck,
    CodeCheckResult,
    DynamicCode,
    PublicKeys,
    Reason,
    TierAssignmentRequest,
    TierRule,
    TierRuleChange,
    TierRulePreview,
    TierRulePreviewRequest,
)
from loyalty.identity.guards import member_id, requires_member
from loyalty.i18n import request_locale
from loyalty.labels import label
from loyalty.settings import Settings
from loyalty.openapi_contract import raises


def _language(request: Request[Any, Any, State]) -> str:
    return request_locale(request)


class MyCardController(Controller):
    path = "/me"
    tags = ["cards"]
    guards = [requires_member]

    @raises("invalid-field", "no-card")
    @get("/card", operation_id="getMyCard", summary="My card: tier, why I have it, and what the next tier needs")
    async def card(self, request: Request[Any, Any, State]) -> CardView:
        """The member app's card page: the card's status, tier, why the owner has it, and what each rule of the
        next tier still needs.
        """
        return await service.card_view(member_id(request), _language(request), clock.today())

    @raises("card-suspended", "no-card")
    @get(
        "/card/code",
        operation_id="getMyDynamicCode",
        summary="A rotating code for the phone: valid for its minute and the next; each call gives a new one-time code "
        "(a QR text and the same code as 18 digits to type)",
    )
    async def dynamic_code(self, request: Request[Any, Any, State], settings: NamedDependency[Settings]) -> Response[DynamicCode]:
        """For the member app's pay screen: a one-time code to show at an alliance merchant's till, which can pay
        with points. Fetch a new one after refresh_after_seconds.
        """
        code = await service.dynamic_code(member_id(request), service.signer_for(settings), time.time())
        return Response(code, headers={"Cache-Control": "no-store"})

    @raises("card-suspended", "no-card")
    @get(
        "/card/code.svg",
        operation_id="getMyDynamicCodeImage",
        media_type="image/svg+xml",
        summary="This minute's rotating code as a QR (SVG); the code, its 18 digits and its timing are in the "
        "X-Card-Code, X-Card-Digits, X-Code-Expires-At and X-Refresh-After headers",
    )
    async def dynamic_code_svg(self, request: Request[Any, Any, State], settings: NamedDependency[Settings]) -> Response[str]:
        """For the member app's pay screen, as an image: the same one-time code as `getMyDynamicCode`, drawn as a
        QR code.
        """
        code = await service.dynamic_code(member_id(request), service.signer_for(settings), time.time())
        return Response(
            image.qr_svg(code.code),
            media_type="image/svg+xml",
            headers={
                "Cache-Control": "no-store",
                "X-Card-Code": code.code,
                "X-Card-Digits": code.digits,
                "X-Code-Expires-At": str(code.expires_at_unix),
                "X-Refresh-After": str(code.refresh_after_seconds),
            },
        )

    @raises("no-card")
    @get(
        "/card/static-code.svg",
        operation_id="getMyStaticCodeImage",
        media_type="image/svg+xml",
        summary="The printed card's code as a QR (SVG; the code in X-Card-Code): identifies, never pays",
    )
    async def static_code_svg(self, request: Request[Any, Any, State], settings: NamedDependency[Settings]) -> Response[str]:
        """For the member app to keep while online and show when the phone loses its connection: the card's fixed
        code, which identifies the owner (tier, discount) but cannot pay with points.
        """
        code = await service.static_code(member_id(request), service.signer_for(settings))
        return Response(
            image.qr_svg(code), media_type="image/svg+xml",
            headers={"Cache-Control": "private, no-cache", "X-Card-Code": code},
        )

    @raises("no-card")
    @get(
        "/card.png",
        operation_id="getMyCardImage",
        summary="The card as a PNG with the static QR code (ETag; re-drawn when tier, name or card change)",
        media_type="image/png",
    )
    async def image_png(self, request: Request[Any, Any, State], settings: NamedDependency[Settings]) -> Response[bytes]:
        """The member app's card picture, to show or save: it carries the static code, which identifies the owner
        for discounts but cannot pay with points.
        """
        face = replace(await service.card_face(member_id(request), service.signer_for(settings)), locale=request_locale(request))
        etag = face.etag()
        headers = {"ETag": etag, "Cache-Control": "private, no-cache"}
        if etag in request.headers.get("if-none-match", ""):
            return Response(b"", status_code=HTTP_304_NOT_MODIFIED, headers=headers, media_type="image/png")
        return Response(image.render_png(face), headers=headers, media_type="image/png")


@get(
    "/code-keys",
    operation_id="getCodeKeys",
    summary="Public keys that verify card and ticket codes offline (Ed25519, raw, base64url)",
    tags=["cards"],
)
async def code_keys(settings: NamedDependency[Settings]) -> PublicKeys:
    """For tills, door scanners and apps that verify card and ticket QR codes without calling us: each key id
    maps to an Ed25519 public key. Keys rotate; fetch again when a code names a key id you do not know.
    """
    return PublicKeys(algorithm="Ed25519", format="raw-base64url", keys=service.signer_for(settings).public_keys())


class StaffCardController(Controller):
    path = "/"
    tags = ["staff"]

    @raises("card-replaced", "card-suspended", "code-bad-signature", "code-expired", "code-malformed", "code-number-unknown", "code-unknown-key", "invalid-field", "not-found")
    @post(
        "/card-checks",
        operation_id="staffCheckCard",
        summary="Check a scanned card code: tier and name, never the phone",
        opt={"roles": ("event_staff", "service", "sales")},
        status_code=200,
    )
    async def check(self, data: JSONBody[CodeCheck], request: Request[Any, Any, State], settings: NamedDependency[Settings]) -> CodeCheckResult:
        """For staff at a door, a desk or an event: scan an owner's card code to see their tier and masked name
        (never the phone).
        """
        card = await service.verify_code(data.code, service.signer_for(settings), time.time())
        language = _language(request)
        return CodeCheckResult(
            card_number=mask_card_number(card.number),
            member_name=card.member_name,
            tier=card.tier,
            tier_label=label(f"tier.{card.tier}", language),
            kind=card.kind,
            expires_at_unix=card.expires_at_unix,
        )

    @raises("invalid-field", "no-card")
    @get(
        "/members/{member:int}/card",
        operation_id="staffGetMemberCard",
        summary="A member's card, tier explanation and tier history",
        opt={"roles": ("service", "sales")},
    )
    async def member_card(self, member: FromPath[int], request: Request[Any, Any, State]) -> dict[str, Any]:
        """The staff member page's card panel: the card, why the member has their tier, and every tier change."""
        view = await service.card_view(member, _language(request), clock.today())
        return {"card": view, "history": await service.tier_history(member)}

    @raises("invalid-field", "no-card")
    @post(
        "/members/{member:int}/card/suspension",
        operation_id="staffSuspendCard",
        summary="Suspend a member's card (audited)",
        opt={"roles": ("service",)},
        status_code=HTTP_204_NO_CONTENT,
    )
    async def suspend(self, member: FromPath[int], data: JSONBody[Reason], request: Request[Any, Any, State]) -> None:
        """For service staff: stop a card's codes working until it is reactivated, with a reason.
        """
        await service.suspend_card(member, data.reason, request.state.staff.id)

    @raises("invalid-field", "no-card")
    @post(
        "/members/{member:int}/card/reactivation",
        operation_id="staffReactivateCard",
        summary="Reactivate a suspended card (audited)",
        opt={"roles": ("service",)},
        status_code=HTTP_204_NO_CONTENT,
    )
    async def reactivate(self, member: FromPath[int], data: JSONBody[Reason], request: Request[Any, Any, State]) -> None:
        """For service staff: lift a suspension, so the card's codes work again."""
        await service.reactivate_card(member, data.reason, request.state.staff.id)

    @raises("invalid-field", "no-card")
    @post(
        "/members/{member:int}/card/reissue",
        operation_id="staffReissueCard",
        summary="Reissue a lost card: new number, the old card's codes stop working (audited)",
        opt={"roles": ("service",)},
    )
    async def reissue(self, member: FromPath[int], data: JSONBody[Reason], request: Request[Any, Any, State]) -> dict[str, str]:
        """For service staff when a card is lost: a new card number; codes of the old card stop working at once."""
        return {"number": await service.reissue_card(member, data.reason, request.state.staff.id)}

    @raises("invalid-field", "no-card")
    @post(
        "/members/{member:int}/tier-assignments",
        operation_id="staffAssignTier",
        summary="Give a member a higher tier until an end date, with a reason (audited)",
        opt={"roles": ("admin",)},
        status_code=HTTP_204_NO_CONTENT,
    )
    async def assign(self, member: FromPath[int], data: JSONBody[TierAssignmentRequest], request: Request[Any, Any, State]) -> None:
        """For admins: give a member a tier above the one the rules give, until an end date (at most the end of
        the third year from now), with a reason.
        """
        await service.assign_tier(member, data.tier, data.reason, data.ends_on, request.state.staff.id, clock.today())


class TierRuleController(Controller):
    path = "/tier-rules"
    tags = ["staff"]

    @get(operation_id="staffListTierRules", summary="The tier rules in force", opt={"roles": ("service", "sales")})
    async def list_rules(self, request: Request[Any, Any, State]) -> list[TierRule]:
        """The staff tier-rules page: every rule, in the order each tier's rules are tried, with the rule in
        words."""
        language = _language(request)
        return [
            TierRule(**{k: row[k] for k in TierRule.__struct_fields__ if k != "text"}, text=service.rule_text(
                row["tier"], row["kind"], row["threshold"], row["window_months"], language))
            for row in await service.list_rules()
        ]

    @raises("invalid-field", "not-found")
    @post(
        "/preview",
        operation_id="staffPreviewTierRule",
        summary="How many members a rule change would move up, down or leave, per tier (writes nothing)",
        opt={"roles": ("admin",)},
        status_code=200,
    )
    async def preview(self, data: JSONBody[TierRulePreviewRequest], request: Request[Any, Any, State]) -> TierRulePreview:
        """For admins before they save a rule: the counts per tier, computed by the same evaluation the save runs,
        over the rules as they would be. Nothing is written; the save afterwards does what `on_save` says, if no
        member changed meanwhile.
        """
        fields = {f: getattr(data, f) for f in TierRulePreviewRequest.__struct_fields__}
        return await service.preview_rule_view(language=_language(request), **fields)

    @raises("invalid-field", "not-found")
    @post(operation_id="staffAddTierRule", summary="Add a tier rule (audited; upgrades apply at once)", opt={"roles": ("admin",)})
    async def add_rule(self, data: JSONBody[TierRuleChange], request: Request[Any, Any, State]) -> dict[str, int]:
        """For admins: a new way to reach a tier. Members who now qualify are upgraded at once."""
        return {"id": await service.save_rule(rule_id=None, staff_id=request.state.staff.id, **_rule_fields(data))}

    @raises("invalid-field", "not-found")
    @put(
        "/{rule_id:int}",
        operation_id="staffChangeTierRule",
        summary="Change a tier rule (audited; upgrades apply at once, downgrades wait for the review)",
        opt={"roles": ("admin",)},
    )
    async def change_rule(
        self, rule_id: FromPath[int], data: JSONBody[TierRuleChange], request: Request[Any, Any, State]
    ) -> dict[str, int]:
        """For admins: change a rule's threshold, window or order, or switch it off. Upgrades apply at once;
        downgrades wait for the yearly review.
        """
        return {"id": await service.save_rule(rule_id=rule_id, staff_id=request.state.staff.id, **_rule_fields(data))}


def _rule_fields(data: TierRuleChange) -> dict[str, Any]:
    return {field: getattr(data, field) for field in TierRuleChange.__struct_fields__}
