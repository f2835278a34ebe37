"""FHIR R4 read API: each referral as a Task, after the SDOH Clinical Care referral Task."""
