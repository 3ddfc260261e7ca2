"""Reviews: from Google notifications (the inbox) or entered by hand; AI reply drafts; publishing."""

from __future__ import annotations

import uuid
from typing import Any

import structlog
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from conjure.apps.ops import texts
from conjure.apps.ops.crypto import PIICipher
from conjure.apps.ops.models import Review, StationChannel
from conjure.apps.ops.schemas import ReviewCreate, ReviewView
from conjure.channels.errors import ChannelNotConfigured
from conjure.channels.outbound import publish_review_reply
from conjure.db import utcnow
from conjure.errors import Conflict, ConjureError, NotFound
from conjure.jobs.registry import JobError
from conjure.settings import Settings

log = structlog.get_logger("conjure.apps.ops.reviews")
SORTS: dict[str, Any] = {
    "created_at": Review.created_at.asc(),
    "-created_at": Review.created_at.desc(),
    "rating": Review.rating.asc(),
    "-rating": Review.rating.desc(),
}
DRAFT_INSTRUCTIONS = (
    "Write a short public reply (at most 3 sentences) from the catering station named in the prompt to this "
    "review. Thank the reviewer; for a low rating apologise and offer a personal follow-up; never argue."
)


class PublishFailed(ConjureError):
    code, status = "publish_failed", 502


def view(cipher: PIICipher, review: Review, *, lenient: bool = False) -> ReviewView:
    """The review as shown; ``lenient`` (lists): a draft that does not open is null, not 409."""
    return ReviewView(
        id=review.id,
        platform=review.platform,
        external_id=review.external_id,
        reviewer_name=review.reviewer_name,
        rating=review.rating,
        text=review.text,
        reply_draft=texts.readable(lenient, texts.REVIEW_DRAFT.read, cipher, review),
        reply_text=review.reply_text,
        reply_status=review.reply_status,
        published_at=review.published_at,
        created_at=review.created_at,
    )


async def create_review(session: AsyncSession, station_id: uuid.UUID, body: ReviewCreate) -> Review:
    review = Review(station_id=station_id, **body.model_dump(), reply_status="none")
    try:
        async with session.begin_nested():
            session.add(review)
    except IntegrityError:
        raise Conflict("That review is recorded already.", code="review_exists") from None
    return review


async def get_review(session: AsyncSession, station_id: uuid.UUID, review_id: uuid.UUID) -> Review:
    review = await session.get(Review, review_id)
    if review is None or review.station_id != station_id:
        raise NotFound("No such review.")
    return review


async def list_reviews(
    session: AsyncSession,
    station_id: uuid.UUID,
    *,
    rating: int | None,
    reply_status: str | None,
    sort: str,
    limit: int,
    offset: int,
) -> tuple[list[Review], int]:
    where: list[Any] = [Review.station_id == station_id]
    if rating is not None:
        where.append(Review.rating == rating)
    if reply_status:
        where.append(Review.reply_status == reply_status)
    total = await session.scalar(select(func.count()).select_from(Review).where(*where))
    stmt = select(Review).where(*where).order_by(SORTS[sort], Review.id).limit(limit).offset(offset)
    return list(await session.scalars(stmt)), int(total or 0)


async def publish(session: AsyncSession, settings: Settings, review: Review, text: str) -> None:
    """Post the reply where the review is (Google through the channels API); hand-entered: recorded only."""
    if review.platform == "google" and review.external_id:
        location = await session.scalar(
            select(StationChannel.address).where(
                StationChannel.station_id == review.station_id, StationChannel.channel == "google"
            )
        )
        if location is None:
            raise PublishFailed("The station has no Google location: add its google channel first.")
        try:
            await publish_review_reply(settings, location, review.external_id, text)
        except ChannelNotConfigured:
            raise PublishFailed("Google Business Profile is not configured (GOOGLE_BUSINESS_*).") from None
        except JobError as exc:
            log.warning("ops_review_publish_failed", error_type=type(exc).__name__)
            raise PublishFailed("Google did not accept the reply; try again.") from None
    review.reply_text, review.reply_status, review.published_at = text, "published", utcnow()
