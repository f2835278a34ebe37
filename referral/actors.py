"""Who is acting: the value every service function receives instead of the request."""

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from agencies import Permission, Role, has_permission

from .errors import Forbidden


@dataclass(frozen=True)
class Actor:
    """A user (or the system) acting from an address."""

    user: object | None
    remote_addr: str | None = None
    #: For system actors: ``scheduler``, ``cli``, ``demo``.
    system: str | None = None

    @classmethod
    def of(cls, user, remote_addr: str | None = None) -> "Actor":
        """Return the actor for a signed-in user."""
        return cls(user=user, remote_addr=remote_addr)

    @classmethod
    def system_actor(cls, name: str) -> "Actor":
        """Return the actor for a process acting on its own (scheduler, CLI)."""
        return cls(user=None, system=name)

    @property
    def user_id(self) -> int | None:
        return self.user.id if self.user is not None else None

    @property
    def label(self) -> str:
        return self.user.email if self.user is not None else f"system:{self.system}"

    @property
    def role(self) -> Role | None:
        return self.user.role if self.user is not None else None

    @property
    def agency_id(self) -> int | None:
        return self.user.agency_id if self.user is not None else None


def require(actor: Actor, permission: Permission) -> None:
    """Raise Forbidden unless the actor is the system or a user whose role grants ``permission``.

    Services call this before any work: they decide who may do what, whichever door the call came in by.
    """
    if actor.user is not None and not has_permission(actor.role, permission):
        raise Forbidden(_l("Your role does not allow this."))
