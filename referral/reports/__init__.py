"""Oversight reports: where referrals wait, per agency, stage and route, for supervisors up (DESIGN §14)."""
