"""Tenancy on every route: the station in the path, the caller's role in it, 404 or 403 otherwise.

``StaffAccess`` (and its siblings) resolves ``{sid}`` to an :class:`Access`: a caller who is not a
member of that station gets 404 (the station's existence is not revealed), a member whose
role ranks below the route's gets 403. Platform admins act as owners of every station.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from sqlalchemy import select

from conjure.apps.ops.models import Member, Role, Station
from conjure.auth.deps import CurrentUser
from conjure.deps import SessionDep
from conjure.errors import Forbidden, NotFound
from conjure.users.models import Role as UserRole


@dataclass(frozen=True)
class Access:
    """The station a request is about and the caller's standing in it."""

    station: Station
    user_id: uuid.UUID
    role: str

    @property
    def station_id(self) -> uuid.UUID:
        return self.station.id

    def at_least(self, role: str) -> bool:
        return Role.RANK[self.role] >= Role.RANK[role]


def require_role(role: str) -> Callable[..., Awaitable[Access]]:
    """The dependency of a station route that needs ``role`` or higher."""

    async def station_access(sid: uuid.UUID, user: CurrentUser, session: SessionDep) -> Access:
        station = await session.get(Station, sid)
        if station is None:
            raise NotFound("No such station.")
        if user.role == UserRole.ADMIN:
            return Access(station, user.id, Role.OWNER)
        found = await session.scalar(
            select(Member.role).where(Member.station_id == sid, Member.user_id == user.id)
        )
        if found is None:
            raise NotFound("No such station.")
        access = Access(station, user.id, found)
        if not access.at_least(role):
            raise Forbidden(f"This needs the {role} role in this station.", code="forbidden")
        return access

    station_access.__name__ = f"station_{role}"
    return station_access


ViewerAccess = Annotated[Access, Depends(require_role(Role.VIEWER))]
StaffAccess = Annotated[Access, Depends(require_role(Role.STAFF))]
ManagerAccess = Annotated[Access, Depends(require_role(Role.MANAGER))]
OwnerAccess = Annotated[Access, Depends(require_role(Role.OWNER))]
