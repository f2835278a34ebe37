"""Notifications: the closed loop that tells each side of a referral what the other did."""
