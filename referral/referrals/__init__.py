"""Referrals: routes along the workflow, referring, the lifecycle, and the agency inbox."""
