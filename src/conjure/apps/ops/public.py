"""The anonymous routes: the public lead form (rate-limited per IP, with a honeypot) and the seed's health.

The honeypot is the ``website`` field, hidden on the form: people leave it empty, form-filling
bots do not. A filled one gets the same 202 as a real lead (the bot learns nothing) and is
not stored.
"""

from __future__ import annotations

import structlog
from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import text

import conjure
from conjure.apps.ops import leads, stations
from conjure.apps.ops.crypto import cipher_for
from conjure.apps.ops.schemas import HealthView, LeadAccepted, LeadCreate, PublicLead
from conjure.apps.ops.settings import OpsSettings
from conjure.auth.deps import client_ip
from conjure.deps import RuntimeDep, SessionDep
from conjure.kit.problems import problems
from conjure.ratelimit.policy import outage_policy

log = structlog.get_logger("conjure.apps.ops.public")
router = APIRouter(tags=["ops"])


async def limit_public_leads(request: Request, response: Response, runtime: RuntimeDep) -> None:
    """``OPS_PUBLIC_LEAD_RATE_LIMIT`` per client IP."""
    spec = runtime.settings.for_app(OpsSettings).ops_public_lead_rate_limit
    state = await runtime.limiter.hit(
        "ops_public_lead", client_ip(request), spec, on_outage=outage_policy(request)
    )
    if state is not None:
        response.headers.update(state.headers())


@router.post(
    "/api/v1/ops/public/{station_slug}/leads",
    status_code=202,
    responses=problems(404, 422, 429),
    dependencies=[Depends(limit_public_leads)],
)
async def submit_public_lead(
    station_slug: str, body: PublicLead, session: SessionDep, runtime: RuntimeDep
) -> LeadAccepted:
    """The website's enquiry form: a new lead for the station (no sign-in)."""
    station = await stations.station_by_slug(session, station_slug)
    if body.website:
        log.info("ops_lead_honeypot", station=station.slug)
        return LeadAccepted()
    lead = LeadCreate(name=body.name, email=body.email, phone=body.phone, message=body.message)
    cipher = cipher_for(runtime.settings)
    if await leads.is_repeated_form(session, cipher, station.id, lead):
        log.info("ops_lead_repeated", station=station.slug)
        return LeadAccepted()
    await leads.create_lead(session, cipher, station.id, lead, "form")
    return LeadAccepted()


@router.get("/api/health", responses={503: {"description": "The database does not answer"}})
async def seed_health(runtime: RuntimeDep) -> JSONResponse:
    """The seed's health contract: ``{"status": "healthy", "database": "connected", "version": …}``."""
    try:
        async with runtime.db.session() as session:
            await session.execute(text("SELECT 1"))
    except Exception as exc:
        log.warning("ops_health_database_down", error_type=type(exc).__name__)
        body = HealthView(status="unhealthy", database="disconnected", version=conjure.__version__)
        return JSONResponse(body.model_dump(), status_code=503)
    return JSONResponse(
        HealthView(status="healthy", database="connected", version=conjure.__version__).model_dump()
    )
