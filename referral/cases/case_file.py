"""The printable case file (DESIGN.md §12): the record as far as the viewer may see it, laid out for paper.

It reuses the decisions of the case page, section by section: an agency that sees the full record prints the
child, consents, referrals, interviews (findings only where shared with it), shared notes and the timeline; an
agency that has only been asked prints the summary and its own referrals; anyone else gets NotFound. Paper
leaves the system, so printing is audited as an export (``case.export``), which the disclosures list reads as
"export" — not as a plain read. Notes an agency kept to itself go on paper only when it asks for them; another
agency's never do.
"""

from dataclasses import dataclass
from datetime import datetime

from agencies import Visibility
from workflows import Definition

from ..actors import Actor
from ..audit.service import record
from ..directory.models import Agency
from ..extensions import utcnow
from ..referrals.models import Referral
from . import interviews, notes, service
from .interviews import InterviewRead
from .models import Case, CaseNote, CaseStatus, Consent, Event, RiskLevel
from .service import CaseSummary

#: The sections of a full case file, in the order they are printed.
FULL_SECTIONS = ("child", "consents", "referrals", "interviews", "notes", "timeline")
#: The sections of the file an agency that has only been asked prints.
SUMMARY_SECTIONS = ("summary", "referrals")


@dataclass(frozen=True)
class CaseFile:
    """What goes on paper: one read model per section, empty where the viewer may not see it."""

    case_id: int
    number: str
    status: CaseStatus
    risk_level: RiskLevel
    visibility: Visibility
    definition: Definition
    #: The case with the child's record; None when the viewer sees only the summary.
    case: Case | None
    #: What an asked agency sees of the child; None for a full reader.
    summary: CaseSummary | None
    #: The stages where an agency holds the case now (full readers only).
    active_stages: list[str]
    consents: list[Consent]
    #: Every referral of the case for a full reader, the ones addressed to its agency for an asked one; oldest first.
    referrals: list[Referral]
    #: Each interview as the viewer's agency reads it (findings withheld unless shared with it), with its agency.
    interviews: list[tuple[InterviewRead, Agency]]
    notes: list[CaseNote]
    events: list[Event]
    #: Whether the notes include those the viewer's agency kept to itself.
    agency_notes: bool
    printed_at: datetime
    #: Who printed: a person's name, or the system's label.
    printed_by: str
    #: The agency of the person who printed (None for the system).
    printed_for: Agency | None

    @property
    def full(self) -> bool:
        return self.visibility is Visibility.full

    @property
    def sections(self) -> tuple[str, ...]:
        return FULL_SECTIONS if self.full else SUMMARY_SECTIONS


def case_file(case_id: int, actor: Actor, *, agency_notes: bool = False) -> CaseFile:
    """Assemble the printable file of a case as far as the actor may see it, audited as an export; raise NotFound.

    ``agency_notes`` adds the notes the actor's agency kept to itself to the shared ones.
    """
    case, visibility = service.get_case(case_id, actor, audit=False)
    definition = service.definition_of(case)
    common = {"case_id": case.id, "number": case.number, "status": case.status, "risk_level": case.risk_level,
              "visibility": visibility, "definition": definition, "printed_at": utcnow(),
              "printed_by": actor.user.name if actor.user is not None else actor.label,
              "printed_for": actor.user.agency if actor.user is not None else None}
    if visibility is Visibility.full:
        kept = [note for note in notes.notes_for(case.id, actor, audit=False) if note.shared or agency_notes]
        found = CaseFile(
            **common, case=case, summary=None, active_stages=service.active_stages(case),
            consents=sorted(case.consents, key=lambda consent: (consent.given_on, consent.id)),
            referrals=sorted(case.referrals, key=lambda referral: referral.id),
            interviews=[(interviews.as_read_by(item, actor), item.agency)
                        for item in interviews.interviews_for(case, actor)],
            notes=kept, events=service.timeline(case), agency_notes=agency_notes)
    else:
        summary = service.summary_for(case, actor)
        found = CaseFile(**common, case=None, summary=summary, active_stages=[], consents=[],
                         referrals=list(summary.asked), interviews=[], notes=[], events=[], agency_notes=False)
    record(actor, "case.export", "case", case.id,
           {"format": "print", "visibility": visibility.value, "sections": list(found.sections),
            "notes": len(found.notes), "agency_notes": found.agency_notes})
    return found

