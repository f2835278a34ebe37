"""Single sign-on through an OpenID Connect provider, for the views: is it offered, start, finish.

The client itself (Authlib) is in ``oidc_client``, imported only by an app that offers single sign-on: Authlib,
requests and cryptography are 16 MB of every web worker's memory, which an app without a provider never uses.
"""

from flask import Flask, current_app

from .oidc_errors import ProviderError

__all__ = ["ProviderError", "finish", "init_oidc", "is_configured", "start"]

EXTENSION = "referral_oidc"


def init_oidc(app: Flask) -> None:
    """Register the provider's client when REFERRAL_OIDC_ISSUER (with its client id and secret) is set."""
    if not app.config.get("REFERRAL_OIDC_ISSUER"):
        return
    # Imported here, not at the top, for memory (the module's docstring says why); no cycle is dodged.
    from . import oidc_client

    app.extensions[EXTENSION] = oidc_client.Client(app)


def is_configured() -> bool:
    """Tell whether this app offers single sign-on."""
    return EXTENSION in current_app.extensions


def start(redirect_uri: str):
    """Return the redirect to the provider's authorization endpoint; raise ProviderError if discovery fails."""
    return current_app.extensions[EXTENSION].start(redirect_uri)


def finish() -> dict:
    """Exchange the code the provider sent back for verified claims; raise ProviderError."""
    return current_app.extensions[EXTENSION].finish()
