"""Referrals as FHIR R4 Task resources, searchset Bundles, the CapabilityStatement and OperationOutcomes.

Plain functions from our rows to FHIR JSON. A Task names the child only by the
case number (``for.identifier``), never by name, and agencies as Organization
references by their stable code.
"""

from datetime import datetime

from workflows.lifecycle import ACTIVE_STATUSES, ReferralStatus

from ..cases.models import RiskLevel
from ..referrals.models import Referral

FHIR_VERSION = "4.0.1"
MEDIA_TYPE = "application/fhir+json"
CASE_NUMBER_SYSTEM = "urn:referral:case-number"
STAGE_SYSTEM = "urn:referral:stage"
#: FHIR Task.priority for a case's risk level.
PRIORITY = {RiskLevel.high: "urgent", RiskLevel.medium: "asap", RiskLevel.low: "routine"}


def instant(moment: datetime | None) -> str | None:
    """Return a UTC timestamp as a FHIR instant (seconds, ``Z``)."""
    if moment is None:
        return None
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def organization(agency) -> dict:
    """Return a reference to an agency as an Organization, by its code."""
    return {"reference": f"Organization/{agency.code}", "display": agency.name}


def restriction_end(referral: Referral) -> datetime | None:
    """Return the due date that bounds the Task now: respond_by while requested, complete_by after acceptance."""
    if referral.status is ReferralStatus.requested:
        return referral.respond_by
    if referral.status in ACTIVE_STATUSES:
        return referral.complete_by
    return None


def last_modified(referral: Referral) -> datetime:
    """Return when the referral last changed, from the timestamps it keeps."""
    return max(moment for moment in (referral.created_at, referral.responded_at, referral.closed_at)
               if moment is not None)


def task(referral: Referral) -> dict:
    """Return a referral as a FHIR R4 Task."""
    requester = referral.from_agency or referral.to_agency
    resource = {
        "resourceType": "Task",
        "id": str(referral.id),
        "meta": {"versionId": str(referral.version), "lastUpdated": instant(last_modified(referral))},
        "identifier": [{"system": "urn:referral:referral-id", "value": str(referral.id)}],
        "status": referral.status.value,
        "businessStatus": {"coding": [{"system": STAGE_SYSTEM, "code": referral.to_stage}],
                           "text": referral.to_stage},
        "intent": "order",
        "priority": PRIORITY.get(referral.case.risk_level, "routine"),
        "code": {"coding": [{"system": "http://hl7.org/fhir/CodeSystem/task-code", "code": "fulfill",
                             "display": "Fulfill the focal request"}]},
        "for": {"identifier": {"system": CASE_NUMBER_SYSTEM, "value": referral.case.number}},
        "authoredOn": instant(referral.created_at),
        "lastModified": instant(last_modified(referral)),
        "requester": organization(requester),
        "owner": organization(referral.to_agency),
    }
    if referral.status_reason:
        resource["statusReason"] = {"text": referral.status_reason}
    if referral.parent_id is not None:
        resource["partOf"] = [{"reference": f"Task/{referral.parent_id}"}]
    end = restriction_end(referral)
    if end is not None:
        resource["restriction"] = {"period": {"end": instant(end)}}
    if referral.responded_at is not None and referral.status is not ReferralStatus.rejected:
        period = {"start": instant(referral.responded_at)}
        if referral.closed_at is not None:
            period["end"] = instant(referral.closed_at)
        resource["executionPeriod"] = period
    if referral.outcome:
        resource["output"] = [{"type": {"text": "outcome"}, "valueString": referral.outcome}]
    return resource


def searchset(tasks: list[dict], total: int, self_url: str, next_url: str | None, base_url: str) -> dict:
    """Return a searchset Bundle of Tasks."""
    links = [{"relation": "self", "url": self_url}]
    if next_url:
        links.append({"relation": "next", "url": next_url})
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": total,
        "link": links,
        "entry": [{"fullUrl": f"{base_url}/Task/{resource['id']}", "resource": resource,
                   "search": {"mode": "match"}} for resource in tasks],
    }


def capability_statement(base_url: str, software_version: str, published: datetime) -> dict:
    """Return the server's CapabilityStatement: Task read and search, bearer tokens."""
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": instant(published),
        "publisher": "referral-engine",
        "kind": "instance",
        "software": {"name": "referral-engine", "version": software_version},
        "implementation": {"description": "Referral engine: referrals as FHIR Tasks", "url": base_url},
        "fhirVersion": FHIR_VERSION,
        "format": ["json"],
        "rest": [{
            "mode": "server",
            "security": {
                "service": [{"coding": [{
                    "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                    "code": "OAuth", "display": "OAuth"}],
                    "text": "Authorization: Bearer <API token>"}],
                "description": "The same API tokens as /api/v1; a Task the caller may not read is 404.",
            },
            "resource": [{
                "type": "Task",
                "interaction": [{"code": "read"}, {"code": "search-type"}],
                "searchParam": [
                    {"name": "owner", "type": "reference",
                     "documentation": "Organization/<agency code>: the receiving agency"},
                    {"name": "status", "type": "token", "documentation": "The referral's status"},
                    {"name": "_count", "type": "number", "documentation": "Page size, at most 200"},
                ],
            }],
        }],
    }


def operation_outcome(code: str, diagnostics: str) -> dict:
    """Return an OperationOutcome with one error issue (``code`` from the FHIR issue-type value set)."""
    return {"resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": code, "diagnostics": diagnostics}]}
