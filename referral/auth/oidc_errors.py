"""What single sign-on raises, apart from the client so that the views can catch it without loading Authlib."""


class ProviderError(Exception):
    """The identity provider refused, could not be reached, or answered something that does not verify.

    ``code`` says what, in a few words fit for the audit log: never a token or a claim.
    """

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code
