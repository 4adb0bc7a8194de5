"""The care faces: an owner's cases, surveys and message preferences; staff handle cases and
read the KPIs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post, put
from litestar.datastructures import State
from litestar.openapi.spec import Example, OpenAPIFormat, OpenAPIMediaType, OpenAPIType, Operation, RequestBody, Schema
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from loyalty import clock
from loyalty.care import cases, desk, kpis, outbox, surveys
from loyalty.care.schemas import (
    Assignment,
    CaseCreate,
    CaseHandler,
    CaseOwner,
    CaseRating,
    CaseMessageView,
    CaseView,
    ClockView,
    Created,
    FollowUp,
    KpiReport,
    KpiView,
    MessageCreate,
    Preferences,
    Resolution,
    SeverityChange,
    StaffCaseCreate,
    StaffCaseView,
    SurveyAnswer,
    SurveyView,
)
from loyalty.care.tables import CASE_KINDS, CASE_STATUSES, DIMENSIONS, CasePhoto
from loyalty.identity.guards import member_id, requires_member
from loyalty.labels import label
from loyalty.openapi_contract import raises

SERVICE = {"roles": ("service",)}
KPI_READERS = {"roles": ("service", "sales")}


async def case_view(case: dict[str, Any]) -> CaseView:
    now = clock.now()
    photos = await CasePhoto.select(CasePhoto.id).where(CasePhoto.case == case["id"]).order_by(CasePhoto.id)
    return CaseView(
        id=case["id"], member_id=case["member"], kind=case["kind"], kind_label_zh=label(f"case_kind.{case['kind']}", "zh-CN"),
        kind_label_en=label(f"case_kind.{case['kind']}", "en"), title=case["title"], text=case["text"], status=case["status"],
        status_label_zh=label(f"case_status.{case['status']}", "zh-CN"), status_label_en=label(f"case_status.{case['status']}", "en"),
        project_id=case["project"], unit_id=case["unit"], assigned_to=case["assigned_to"], opened_by=case["opened_by"],
        opened_at=case["opened_at"], result=case["result"],
        clocks=[ClockView(name=c.name, due=c.due, done=c.done, state=c.state(now)) for c in cases.clocks(case)],  # type: ignore[arg-type]
        messages=[
            CaseMessageView(id=m["id"], author_kind=m["author_kind"], text=m["text"], created_at=m["created_at"])
            for m in await cases.messages(case["id"])
        ],
        photo_ids=[p["id"] for p in photos],
    )


async def staff_case_views(rows: list[dict[str, Any]], *, with_rating: bool = False) -> list[StaffCaseView]:
    """Cases as the care desk sees them: with their owners and assignees looked up once per page."""
    owners = await desk.owners({r["member"] for r in rows})
    names = {h["staff_id"]: h["name"] for h in await desk.handlers({r["assigned_to"] for r in rows if r["assigned_to"]})}
    views = []
    for row in rows:
        base = await case_view(row)
        owner = owners.get(row["member"])
        next_clock, next_due = desk.next_clock(row)
        rated = await desk.rating(row["id"]) if with_rating else None
        views.append(StaffCaseView(
            **{f: getattr(base, f) for f in base.__struct_fields__},
            severity=row["severity"], owner=CaseOwner(**owner) if owner else None,
            assignee_name=names.get(row["assigned_to"]) if row["assigned_to"] else None,
            next_clock=next_clock, next_due=next_due, follow_up_note=row["follow_up_note"],  # type: ignore[arg-type]
            rating=CaseRating(**rated) if rated else None,
        ))
    return views


def _photo_response(row: dict[str, Any]) -> Response[bytes]:
    return Response(bytes(row["data"]), media_type=row["content_type"], headers={"Cache-Control": "private, max-age=3600"})



@dataclass  # so that its __init__ calls __post_init__ (Operation has none)
class _PhotoUploadOperation(Operation):
    """The photo's body, for the OpenAPI document: the handler reads the raw image itself (it
    is checked by Pillow, not decoded as a form)."""

    def __post_init__(self) -> None:
        picture = OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY))
        self.request_body = RequestBody(
            required=True,
            description="the image file itself as the body (no form): JPEG, PNG or WebP, at most 5 MB and 40 million "
            "pixels (the default ceiling), decoding whole",
            content={media_type: picture for media_type in cases.PHOTO_TYPES.values()},
        )

class MyCareController(Controller):
    path = "/me"
    tags = ["care"]
    guards = [requires_member]

    @get("/cases", operation_id="listMyCases", summary="My feedback and complaints, newest first")
    async def list_cases(self, request: Request[Any, Any, State]) -> list[CaseView]:
        """The member app's list of the owner's own feedback, repair requests and complaints, newest first."""
        return [await case_view(c) for c in await cases.list_cases(member_id=member_id(request))]

    @raises("invalid-field", "not-found")
    @post("/cases", operation_id="openMyCase", status_code=HTTP_201_CREATED, summary="Open a case: we reply within 48 hours")
    async def open(self, data: JSONBody[CaseCreate], request: Request[Any, Any, State]) -> CaseView:
        """From the member app: the owner opens a complaint, suggestion, repair request or inquiry. The care desk
        must reply within 48 hours; the clocks show it.
        """
        me = member_id(request)
        case_id = await cases.open_case(me, data.kind, data.title, data.text, unit_id=data.unit_id)
        return await case_view(await cases.get_case(case_id, me))

    @raises("not-found")
    @get("/cases/{case_id:int}", operation_id="getMyCase", summary="One of my cases, with replies and its clocks")
    async def get_case(self, case_id: FromPath[int], request: Request[Any, Any, State]) -> CaseView:
        """The member app's case page: one of the owner's own cases with the care desk's replies, photos and the
        reply, result and follow-up clocks.
        """
        return await case_view(await cases.get_case(case_id, member_id(request)))

    @raises("case-closed", "invalid-field", "not-found")
    @post("/cases/{case_id:int}/messages", operation_id="replyToMyCase", status_code=HTTP_201_CREATED, summary="Add to my case")
    async def reply(self, case_id: FromPath[int], data: JSONBody[MessageCreate], request: Request[Any, Any, State]) -> Created:
        """From the member app's case page: the owner adds a message to their own case while it is open or in
        progress (a resolved case is `case-closed`).
        """
        return Created(id=await cases.owner_reply(case_id, member_id(request), data.text))

    @raises("case-closed", "image-too-large", "invalid-field", "not-found")
    @post(
        "/cases/{case_id:int}/photos", operation_id="addPhotoToMyCase", status_code=HTTP_201_CREATED,
        summary="A photo for my case: send the image itself as the body (JPEG, PNG or WebP, ≤ 5 MB)",
        operation_class=_PhotoUploadOperation,
    )
    async def add_photo(self, case_id: FromPath[int], request: Request[Any, Any, State]) -> Created:
        """From the member app's case page: attach a photo (a leak, a crack) to the owner's own case while it is
        open or in progress (a resolved case is `case-closed`). At most five photos per case; a picture that does
        not decode whole (a JPEG cut short) is `invalid-field`.
        """
        return Created(id=await cases.add_photo(case_id, member_id(request), await request.body()))

    @raises("not-found")
    @get("/cases/{case_id:int}/photos/{photo_id:int}", operation_id="getMyCasePhoto", summary="A photo of my case", media_type="image/jpeg")
    async def get_photo(self, case_id: FromPath[int], photo_id: FromPath[int], request: Request[Any, Any, State]) -> Response[bytes]:
        """A photo attached to one of the owner's own cases, for the member app's case page."""
        return _photo_response(await cases.photo(case_id, photo_id, member_id(request)))

    @get("/surveys", operation_id="listMySurveys", summary="Surveys waiting for my answers")
    async def open_surveys(self, request: Request[Any, Any, State]) -> list[SurveyView]:
        """The member app's surveys waiting for the owner's answers (after an event, after a case, yearly)."""
        return [
            SurveyView(
                id=s["id"], kind=s["kind"], subject_id=s["subject_id"], sent_at=s["sent_at"],
                questions=[*(DIMENSIONS if s["kind"] == "yearly" else ("satisfaction",)), "recommend", "comment"],
                subject_title=s["subject_title"], subject_title_en=s["subject_title_en"],
            )
            for s in await surveys.open_surveys(member_id(request))
        ]

    @raises("invalid-field", "not-found", "survey-answered")
    @post(
        "/surveys/{survey_id:int}/answers", operation_id="answerMySurvey", status_code=HTTP_204_NO_CONTENT,
        summary="Answer a survey (1–5 scores, 0–10 recommend), once",
    )
    async def answer(self, survey_id: FromPath[int], data: JSONBody[SurveyAnswer], request: Request[Any, Any, State]) -> None:
        """From the member app's survey page: the owner answers one of their surveys. A survey is answered once;
        a second answer is refused.
        """
        answers = {name: getattr(data, name) for name in data.__struct_fields__}
        await surveys.answer(member_id(request), survey_id, answers)

    @get("/message-preferences", operation_id="getMyMessagePreferences", summary="Kinds of messages I refused, and my channels")
    async def preferences(self, request: Request[Any, Any, State]) -> Preferences:
        """The member app's message settings: the kinds of optional messages the owner refused, and the channels
        (WeChat, SMS, e-mail) messages reach them by, in order."""
        member = member_id(request)
        return Preferences(opt_outs=await outbox.opt_outs(member), channels=await outbox.channel_choice(member))  # type: ignore[arg-type]

    @raises("invalid-field")
    @put("/message-preferences", operation_id="setMyMessagePreferences", summary="Refuse greetings, reminders or surveys (not service messages)")
    async def set_preferences(self, data: JSONBody[Preferences], request: Request[Any, Any, State]) -> Preferences:
        """The member app's message settings: replace the list of refused kinds (login codes and updates on the
        owner's own events and cases are always sent) and, when given, the channels in order.
        """
        member = member_id(request)
        opt_outs = await outbox.set_opt_outs(member, list(data.opt_outs))
        channels = await outbox.set_channel_choice(member, list(data.channels)) if data.channels is not None else None
        return Preferences(opt_outs=opt_outs, channels=channels or await outbox.channel_choice(member))  # type: ignore[arg-type]


class StaffCaseController(Controller):
    path = "/cases"
    tags = ["staff"]

    @raises("invalid-field")
    @get(operation_id="staffListCases", summary="The care desk's queue: cases filtered, by deadline or newest first, a page at a time", opt=SERVICE)
    async def list_cases(
        self,
        request: Request[Any, Any, State],
        status: Annotated[str | None, QueryParameter(
            max_length=16, schema_extra={"enum": list(CASE_STATUSES)}, examples=[Example(value="open")],
            description="only cases in this status (see CaseView.status); another text matches none",
        )] = None,
        overdue: Annotated[bool, QueryParameter(description="only cases past a clock")] = False,
        project_id: Annotated[int | None, QueryParameter(ge=1, le=2**31 - 1)] = None,
        assigned_to: Annotated[int | None, QueryParameter(ge=1, le=2**31 - 1)] = None,
        member_id: Annotated[int | None, QueryParameter(ge=1, le=2**31 - 1, description="only this owner's cases")] = None,
        kind: Annotated[str | None, QueryParameter(
            max_length=16, schema_extra={"enum": list(CASE_KINDS)}, examples=[Example(value="repair")],
            description="only cases of this kind; another text is a 422 invalid-field naming `kind`",
        )] = None,
        assignee: Annotated[str, QueryParameter(
            max_length=16, schema_extra={"enum": list(desk.ASSIGNEES)},
            description="anyone | me: assigned to the caller | unassigned; another text is a 422 naming `assignee`",
        )] = "anyone",
        case_state: Annotated[str | None, QueryParameter(
            name="state", max_length=16, schema_extra={"enum": list(desk.STATES)}, examples=[Example(value="active")],
            description="active: not yet followed up | overdue: past a clock | a status; another text is a 422 naming `state`",
        )] = None,
        sort: Annotated[str, QueryParameter(
            max_length=16, schema_extra={"enum": list(desk.SORTS)},
            description="newest: newest first | deadline: the clock that runs out next first (reply, else result, else "
            "follow-up), so overdue cases lead; followed-up cases last",
        )] = "newest",
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
        offset: Annotated[int, QueryParameter(ge=0, le=2**31 - 1)] = 0,
    ) -> list[StaffCaseView]:
        """The care desk's queue: cases by kind, project, assignee or state, newest first or by the deadline that
        comes next, `limit` at a time from `offset`. Each with its owner (phone masked), assignee and next clock.
        """
        found = await desk.queue(
            kind=kind, project_id=project_id, member_id=member_id, assignee=assignee, staff_id=request.state.staff.id, assigned_to=assigned_to,
            state=case_state, status=status, overdue=overdue, sort=sort, limit=limit, offset=offset,
        )
        return await staff_case_views(found)

    @get("/handlers", operation_id="staffListCaseHandlers", summary="Who a case can be given to", opt=SERVICE)
    async def handlers(self) -> list[CaseHandler]:
        """The care desk's assign list: the active service and admin staff."""
        return [CaseHandler(**h) for h in await desk.handlers()]

    @raises("invalid-field", "not-found")
    @post(operation_id="staffOpenCase", status_code=HTTP_201_CREATED, summary="Open a case for an owner (e.g. from a call)", opt=SERVICE)
    async def open(self, data: JSONBody[StaffCaseCreate], request: Request[Any, Any, State]) -> StaffCaseView:
        """For the care desk: open a case for an owner who called or came in; the same clocks run as for one the
        owner opened.
        """
        case_id = await cases.open_case(
            data.member_id, data.kind, data.title, data.text, unit_id=data.unit_id, opened_by_staff=request.state.staff.id
        )
        return (await staff_case_views([await cases.get_case(case_id)]))[0]

    @raises("not-found")
    @get("/{case_id:int}", operation_id="staffGetCase", summary="One case", opt=SERVICE)
    async def get_case(self, case_id: FromPath[int]) -> StaffCaseView:
        """The care desk's case page: one case with its messages, photos and clocks, its owner (phone masked),
        assignee, severity, follow-up note and the owner's rating once given.
        """
        return (await staff_case_views([await cases.get_case(case_id)], with_rating=True))[0]

    @raises("not-found")
    @get("/{case_id:int}/photos/{photo_id:int}", operation_id="staffGetCasePhoto", summary="A photo of a case", opt=SERVICE, media_type="image/jpeg")
    async def get_photo(self, case_id: FromPath[int], photo_id: FromPath[int]) -> Response[bytes]:
        """A photo an owner attached to a case, for the care desk's case page."""
        return _photo_response(await cases.photo(case_id, photo_id))

    @raises("case-closed", "invalid-field", "not-found")
    @post("/{case_id:int}/messages", operation_id="staffReplyToCase", status_code=HTTP_201_CREATED, summary="Reply to the owner", opt=SERVICE)
    async def reply(self, case_id: FromPath[int], data: JSONBody[MessageCreate], request: Request[Any, Any, State]) -> Created:
        """For the care desk: reply to the owner on their case. The first reply stops the reply clock."""
        return Created(id=await cases.staff_reply(case_id, request.state.staff.id, data.text))

    @raises("case-closed", "invalid-field", "not-found")
    @post("/{case_id:int}/assignment", operation_id="staffAssignCase", status_code=HTTP_204_NO_CONTENT, summary="Assign (audited)", opt=SERVICE)
    async def assign(self, case_id: FromPath[int], data: JSONBody[Assignment], request: Request[Any, Any, State]) -> None:
        """For the care desk: give a case to the staff member who will handle it (audited)."""
        await cases.assign(case_id, data.staff_id, request.state.staff.id)

    @raises("invalid-field", "not-found")
    @post("/{case_id:int}/severity", operation_id="staffSetCaseSeverity", status_code=HTTP_204_NO_CONTENT, summary="Set normal or major (audited)", opt=SERVICE)
    async def severity(self, case_id: FromPath[int], data: JSONBody[SeverityChange], request: Request[Any, Any, State]) -> None:
        """For the care desk: weigh a case, normal or major (audited with what it was)."""
        await cases.set_severity(case_id, data.severity, request.state.staff.id)

    @raises("case-closed", "invalid-field", "not-found")
    @post("/{case_id:int}/resolution", operation_id="staffResolveCase", status_code=HTTP_204_NO_CONTENT, summary="Give the result (a survey follows)", opt=SERVICE)
    async def resolve(self, case_id: FromPath[int], data: JSONBody[Resolution], request: Request[Any, Any, State]) -> None:
        """For the care desk: give the case's result. It stops the result clock, starts the follow-up clock, and
        the owner gets a survey.
        """
        await cases.resolve(case_id, data.result, request.state.staff.id)

    @raises("invalid-field", "not-found")
    @post("/{case_id:int}/follow-up", operation_id="staffFollowUpCase", status_code=HTTP_204_NO_CONTENT, summary="Record the follow-up call", opt=SERVICE)
    async def follow_up(self, case_id: FromPath[int], data: JSONBody[FollowUp], request: Request[Any, Any, State]) -> None:
        """For the care desk: record the call made to the owner after a case was resolved. That closes the case."""
        await cases.follow_up(case_id, data.note, request.state.staff.id)


@raises("invalid-field")
@get("/kpis", operation_id="staffKpis", tags=["staff"], opt=KPI_READERS,
     summary="Satisfaction, NPS, reply on time, follow-up rate and referral share per project and month, with targets")
async def staff_kpis(
    start: Annotated[date, QueryParameter(description="first day (Beijing time)")],
    end: Annotated[date, QueryParameter(description="last day")],
    project_id: Annotated[int | None, QueryParameter(ge=1, le=2**31 - 1)] = None,
) -> KpiReport:
    """The care KPIs as data, for the service, sales and admin roles: each row one project and month, compared
    with the targets.
    """
    return await kpi_report(start, end, project_id)


async def kpi_report(start: date, end: date, project_id: int | None) -> KpiReport:
    """The KPI report as the API shows it (also the KPI dashboard's)."""
    rows = await kpis.kpis(start, end, project_id=project_id)
    return KpiReport(
        start=start, end=end, targets=kpis.TARGETS,
        rows=[
            KpiView(
                project_id=r.project_id, month=r.month, satisfaction_rate=r.satisfaction_rate, satisfaction_scores=r.scores,
                nps=r.nps, recommend_answers=r.recommend_answers, reply_on_time_rate=r.reply_on_time_rate,
                replies_due=r.replies_due, complaint_reply_on_time_rate=r.complaint_reply_on_time_rate,
                follow_up_rate=r.follow_up_rate, follow_ups_due=r.follow_ups_due, referral_share=r.referral_share,
                new_buyers=r.new_buyers, referred_buyers=r.referred_buyers, referral_signed=r.referral_signed,
                overdue_cases=r.overdue_now,
            )
            for r in rows
        ],
    )
