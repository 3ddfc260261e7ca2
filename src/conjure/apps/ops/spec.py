"""What the ops app (seed 003, MyHibachi) adds to the platform: its routes, jobs and deposit intents."""

from __future__ import annotations

from conjure.apps.ops.crypto import PENDING_EVERY_SECONDS
from conjure.apps.ops.deposits import PURPOSE, on_deposit_event
from conjure.apps.ops.inbox import handle_inbound
from conjure.apps.ops.names import index_pending_names
from conjure.apps.ops.pages import router as page_router
from conjure.apps.ops.public import router as public_router
from conjure.apps.ops.router import router
from conjure.apps.ops.router_work import router as work_router
from conjure.apps.ops.stations import erase_member, export_member
from conjure.apps.ops.tasks import QUALIFY, TRIAGE, qualify_lead, triage_message
from conjure.apps.ops.texts import seal_pending_texts
from conjure.jobs.registry import JobKind
from conjure.kit.spec import AppSpec, PeriodicTask

JOB_KINDS = [
    JobKind(
        name=TRIAGE,
        handler=triage_message,
        timeout_seconds=120,
        description="Classify an inbound message, choose its escalation level, draft or send a reply.",
    ),
    JobKind(
        name=QUALIFY,
        handler=qualify_lead,
        timeout_seconds=120,
        description="Score a lead 0-100 with reasons and a suggested next step.",
    ),
]

# Names stored before the search index existed get their tokens (ops.names); none left: one query.
INDEX_NAMES = PeriodicTask("ops.index_pending_names", index_pending_names, lambda _: PENDING_EVERY_SECONDS)
# Message text stored in clear before 0026 gets sealed (ops.texts); none left: one transaction.
SEAL_TEXTS = PeriodicTask("ops.seal_pending_texts", seal_pending_texts, lambda _: PENDING_EVERY_SECONDS)

APP = AppSpec(
    name="ops",
    routers=[router, work_router, public_router, page_router],
    job_kinds=JOB_KINDS,
    periodic=[INDEX_NAMES, SEAL_TEXTS],
    stripe_purposes={PURPOSE: on_deposit_event},
    on_inbound_message=handle_inbound,
    erase_user=erase_member,
    export_user=export_member,
)
