"""REST API v1's toolkit for the features: bearer tokens (``auth``), pagination, the one error shape (``errors``).

The features' blueprints are bound to the app in ``referral.shell.api``, above every feature.
"""
