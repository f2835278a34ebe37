"""API v1: cases, their consents, interviews and timeline; closing a case that has nothing open."""

from flask_babel import lazy_gettext as _l
from flask_smorest import Blueprint

from agencies import Visibility

from ..api.auth import api_actor
from ..api.pagination import PageArgs, paginate
from ..errors import NotFound
from ..extensions import db
from ..referrals import consents
from . import child_record, duplicates, stuck
from . import disclosures as case_disclosures
from . import interviews as interview_records
from . import notes as case_notes
from . import retention as case_retention
from . import service as cases
from .schemas import (
    CaseCloseSchema,
    CaseCreateSchema,
    CaseMatchesInSchema,
    CasePatchSchema,
    CaseQuerySchema,
    CaseRegisteredSchema,
    CaseSchema,
    CaseSummarySchema,
    ConsentCreateSchema,
    ConsentSchema,
    ConsentWithdrawSchema,
    DisclosureSchema,
    EventSchema,
    HoldSchema,
    InquirySchema,
    InterviewCreateSchema,
    InterviewSchema,
    MatchesSchema,
    NoteCreateSchema,
    NoteSchema,
)

blp = Blueprint("cases_api", __name__, url_prefix="/cases",
                description="Cases: register, read as far as need to know allows, record consents and interviews.")


class CaseListArgs(CaseQuerySchema, PageArgs):
    pass


#: Built once: a schema's fields are deep-copied each time one is made, which costs more than a dump.
_FULL, _SUMMARY = CaseSchema(), CaseSummarySchema()


def case_body(case, visibility, actor) -> dict:
    if visibility is Visibility.full:
        return _FULL.dump(case)
    return _SUMMARY.dump(cases.summary_for(case, actor))


@blp.route("", methods=["POST"])
@blp.arguments(CaseCreateSchema)
@blp.response(201, CaseRegisteredSchema)
def register(values):
    """Register a case on the latest published version of a workflow.

    The answer lists the ``possible_duplicates`` found before it was registered (as ``POST /cases/matches``
    does); a possible duplicate never stops a registration.
    """
    registered = duplicates.register_checked(values["workflow"], values["risk_level"], values["child"], api_actor())
    db.session.commit()
    return registered


@blp.route("/matches", methods=["POST"])
@blp.arguments(CaseMatchesInSchema)
@blp.response(200, MatchesSchema)
@blp.alt_response(403, response="FORBIDDEN")
def matches(values):
    """Find the cases whose child may be this one, whoever holds them, before a second file is opened.

    Names match across scripts and spelling variants with one typo in one name, and the birth date (or
    ages within a year where one is estimated). Each match says what a summary says and which agencies
    hold the case, never a name or a birth date. Every check is audited.
    """
    found = duplicates.find_matches(values["child"], api_actor())
    db.session.commit()
    return {"matches": found}


@blp.route("/<int:case_id>/inquiries", methods=["POST"])
@blp.response(201, InquirySchema)
@blp.alt_response(403, response="FORBIDDEN")
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(409, response="CONFLICT")
def ask_holders(case_id):
    """Ask the agencies holding a possible duplicate to get in touch with your agency (no body).

    Their staff are told the case number and your agency, never the child's name. 404: no such case shown
    to you by a check (``POST /cases/matches`` or a registration) in the last day; 409: your agency holds
    the case (problem ``already_holding``).
    """
    inquiry = duplicates.ask_holders(case_id, api_actor())
    db.session.commit()
    return inquiry


@blp.route("")
@blp.arguments(CaseListArgs, location="query")
@blp.response(200, description="Cases the caller may see: full records, or summaries where only asked.")
def list_cases(args):
    """List the cases the caller may see, newest first; with ``stuck=true`` only those with nothing open."""
    actor = api_actor()
    statement = cases.cases_query(actor, text=args["q"], status=args["status"], risk_level=args["risk_level"],
                                  region=args["region"], assigned_to_me=args["assignee"] == "me")
    if args["stuck"]:
        statement = statement.where(stuck.stuck_condition())
    items, headers = paginate(statement, args)
    body = [case_body(case, visibility, actor) for case, visibility in cases.listed(items, actor)]
    db.session.commit()
    return body, 200, headers


@blp.route("/<int:case_id>")
@blp.response(200, description="A Case (full record), or a CaseSummary for an agency only asked.")
def get_case(case_id):
    """Show a case as far as the caller may see it; the read is audited."""
    actor = api_actor()
    case, visibility = cases.get_case(case_id, actor, agencies=False)  # the body names no referral's agency
    body = case_body(case, visibility, actor)  # before the commit, which would expire what it reads
    db.session.commit()
    return body


@blp.route("/<int:case_id>", methods=["PATCH"])
@blp.arguments(CasePatchSchema)
@blp.response(200, CaseSchema)
@blp.alt_response(403, response="FORBIDDEN")
@blp.alt_response(409, response="CONFLICT")
def change_case(values, case_id):
    """Change a case's risk level (its pending deadlines move with it) and correct fields of the child's record.

    The child's record may be corrected by an agency that holds an active referral of the case, or by a
    coordinator of its region or an admin (else 403). A ``version`` that is not the case's is 409 (problem
    ``stale_version``); the timeline names the fields changed, never their values.
    """
    case, _ = child_record.change_case(case_id, api_actor(), child=values.get("child"),
                                       risk_level=values.get("risk_level"), version=values.get("version"))
    db.session.commit()
    return case


@blp.route("/<int:case_id>/close", methods=["POST"])
@blp.arguments(CaseCloseSchema)
@blp.response(200, CaseSchema)
@blp.alt_response(403, response="FORBIDDEN")
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(409, response="CONFLICT")
def close(values, case_id):
    """Close a case on which no referral is open, with a reason (coordinators of its region, admins).

    403: not a coordinator of the case's region, nor an admin; 404: no case the caller may see; 409: the
    case is closed already, or a referral of it is open (problem ``open_referrals``: cancel it first).
    """
    case = stuck.close_case(case_id, values["reason"], api_actor())
    db.session.commit()
    return case


@blp.route("/<int:case_id>/consents", methods=["POST"])
@blp.arguments(ConsentCreateSchema)
@blp.response(201, ConsentSchema)
def record_consent(consent, case_id):
    """Record a consent given for the child."""
    consent = cases.record_consent(case_id, consent, api_actor())
    db.session.commit()
    return consent


@blp.route("/<int:case_id>/consents/<int:consent_id>/withdraw", methods=["POST"])
@blp.arguments(ConsentWithdrawSchema)
@blp.response(200, ConsentSchema)
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(409, response="CONFLICT")
def withdraw_consent(values, case_id, consent_id):
    """Withdraw a consent, with a reason: it covers nothing from now on.

    Requested referrals that needed it are cancelled (``status_reason: consent-withdrawn``) and both sides are
    told; agencies already working keep their referral and are told. 409: already withdrawn.
    """
    consent = consents.withdraw_consent(case_id, consent_id, values["reason"], api_actor())
    db.session.commit()
    return consent


@blp.route("/<int:case_id>/hold", methods=["POST"])
@blp.arguments(HoldSchema)
@blp.response(200, CaseSchema)
@blp.alt_response(403, response="FORBIDDEN")
@blp.alt_response(404, response="NOT_FOUND")
def place_hold(values, case_id):
    """Place a legal hold: the case's data are kept past the retention period (coordinators of its region,
    admins). 409: the data were erased already."""
    case = case_retention.place_hold(case_id, values["reason"], api_actor())
    db.session.commit()
    return case


@blp.route("/<int:case_id>/hold", methods=["DELETE"])
@blp.response(200, CaseSchema)
@blp.alt_response(403, response="FORBIDDEN")
@blp.alt_response(404, response="NOT_FOUND")
def lift_hold(case_id):
    """Lift the legal hold (coordinators of the case's region, admins); lifting none is no error."""
    case = case_retention.lift_hold(case_id, api_actor())
    db.session.commit()
    return case


@blp.route("/<int:case_id>/disclosures")
@blp.response(200, DisclosureSchema(many=True))
@blp.alt_response(404, response="NOT_FOUND")
def disclosures(case_id):
    """List who read or received this child's record: per agency, role and kind, how often and when last.

    For readers of the full record; the read itself is audited. 404: no case the caller sees in full.
    """
    found = case_disclosures.disclosures_of(case_id, api_actor())
    db.session.commit()
    return found


@blp.route("/<int:case_id>/timeline")
@blp.arguments(PageArgs, location="query")
@blp.response(200, EventSchema(many=True))
def timeline(args, case_id):
    """List the case's events, oldest first (full readers only)."""
    case = cases.read_timeline(case_id, api_actor())
    items, headers = paginate(cases.timeline_query(case), args)
    db.session.commit()
    return items, 200, headers


@blp.route("/<int:case_id>/interviews", methods=["POST"])
@blp.arguments(InterviewCreateSchema)
@blp.response(201, InterviewSchema)
def record_interview(held, case_id):
    """Record an interview with the child or an assessment your agency held, so no one asks again."""
    actor = api_actor()
    interview = interview_records.record_interview(case_id, held, actor)
    db.session.commit()
    return interview_records.as_read_by(interview, actor)


@blp.route("/<int:case_id>/interviews")
@blp.response(200, InterviewSchema(many=True))
def interviews(case_id):
    """List the prior interviews and assessments of the child, latest first (full readers only); the read is audited."""
    actor = api_actor()
    case, visibility = cases.get_case(case_id, actor)
    if visibility is not Visibility.full:
        raise NotFound(_l("No such case."))
    found = interview_records.interviews_for(case, actor)
    db.session.commit()
    return [interview_records.as_read_by(interview, actor) for interview in found]


@blp.route("/<int:case_id>/notes")
@blp.response(200, NoteSchema(many=True))
def list_notes(case_id):
    """List the case's notes the caller's agency may read, newest first (full readers only); the read is audited."""
    found = case_notes.notes_for(case_id, api_actor())
    db.session.commit()
    return found


@blp.route("/<int:case_id>/notes", methods=["POST"])
@blp.arguments(NoteCreateSchema)
@blp.response(201, NoteSchema)
def add_note(values, case_id):
    """Write a note on the case: for your agency only, or shared with every agency that sees the full record."""
    note = case_notes.add_note(case_id, values["text"], values["shared"], api_actor())
    db.session.commit()
    return note
