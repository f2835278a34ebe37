"""The OpenID Connect client (Authlib) of single sign-on: discovery, authorization code with PKCE, the ID token.

One client per app, kept in ``app.extensions`` (tests run apps with different providers side by side). Authlib
keeps the state, the nonce and the PKCE verifier in the signed session cookie between the two legs, checks the
state on return, and verifies the ID token's signature (the provider's key set), issuer, audience, expiry and
nonce. Only ``oidc.init_oidc`` imports this module, and only for an app that has a provider.
"""

import logging

import requests
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.flask_client import OAuth
from flask import Flask

from .oidc_errors import ProviderError

SCOPE = "openid email profile"


class Client:
    """The provider's client of one app."""

    def __init__(self, app: Flask):
        config = app.config
        # Authlib logs the PKCE verifier at DEBUG: a secret of the sign-in, kept out of every log.
        logging.getLogger("authlib").setLevel(max(logging.INFO, logging.getLogger("authlib").getEffectiveLevel()))
        oauth = OAuth(app)
        oauth.register(
            "provider",
            client_id=config["REFERRAL_OIDC_CLIENT_ID"],
            client_secret=config["REFERRAL_OIDC_CLIENT_SECRET"],
            server_metadata_url=config["REFERRAL_OIDC_ISSUER"].rstrip("/") + "/.well-known/openid-configuration",
            client_kwargs={"scope": SCOPE, "code_challenge_method": "S256",
                           "default_timeout": config["REFERRAL_OIDC_TIMEOUT_SECONDS"]},
        )
        self.provider = oauth.provider

    def start(self, redirect_uri: str):
        """Return the redirect to the provider's authorization endpoint; raise ProviderError if discovery fails."""
        try:
            return self.provider.authorize_redirect(redirect_uri)
        except (AuthlibBaseError, requests.RequestException, ValueError) as error:
            raise ProviderError(_code(error, "discovery_failed")) from None

    def finish(self) -> dict:
        """Exchange the code the provider sent back for verified claims (the ID token's, e-mail from UserInfo if
        the ID token leaves it out); raise ProviderError."""
        try:
            token = self.provider.authorize_access_token()
            claims = dict(token.get("userinfo") or {})
            if not claims.get("sub"):
                raise ProviderError("no_id_token")
            if "email" not in claims:
                # Providers that follow OIDC Core 5.4 give scope claims at UserInfo when an access token is issued.
                info = self.provider.userinfo(token=token)
                if info.get("sub") != claims["sub"]:  # OIDC Core 5.3.2: a different subject is not this person
                    raise ProviderError("userinfo_subject_mismatch")
                claims.update({key: info[key] for key in ("email", "email_verified") if key in info})
            return claims
        except (AuthlibBaseError, requests.RequestException, ValueError, KeyError) as error:
            raise ProviderError(_code(error, "token_failed")) from None


def _code(error: Exception, fallback: str) -> str:
    # Authlib's errors carry a short code ("mismatching_state", "access_denied", "invalid_claim"); a
    # description may quote what the provider sent, so it is left out.
    code = getattr(error, "error", None)
    return code if isinstance(code, str) and code.isascii() and len(code) <= 64 else fallback
