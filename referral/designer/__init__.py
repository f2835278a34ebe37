"""The workflows designer: stored drafts and published versions, their API, CLI and web pages."""
