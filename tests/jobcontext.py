"""What the job-context stand-ins of handler tests take from their runtime.

A handler reads settings, storage, the limiter, the database and the event hub through its
JobContext; the tests' fakes (tarot's, imagegen's) record progress their own way but hand
these over from the runtime they were given, the same way.
"""

from __future__ import annotations

from conjure.db import Database
from conjure.events.types import UserEventHub
from conjure.ratelimit.service import RateLimiter
from conjure.runtime import Runtime
from conjure.settings import Settings
from conjure.storage.service import ObjectStore


class FromRuntime:
    """JobContext's runtime-backed properties, for a stand-in with a ``runtime`` attribute."""

    runtime: Runtime

    @property
    def settings(self) -> Settings:
        return self.runtime.settings

    @property
    def storage(self) -> ObjectStore:
        return self.runtime.storage

    @property
    def limiter(self) -> RateLimiter:
        return self.runtime.limiter

    @property
    def db(self) -> Database:
        return self.runtime.db

    @property
    def user_events(self) -> UserEventHub:
        return self.runtime.user_events
