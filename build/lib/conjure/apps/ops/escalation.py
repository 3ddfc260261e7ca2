"""The AI escalation policy (seed 003): which level a classified message gets, safety first.

- **Level 3** (human only): complaints, refunds, allergies and health, legal, cancellations,
  high sensitivity, a negative mood, anything the classifier does not know, any confidence
  below the station's Level 2 threshold, and every message while AI is off for the station
  (over budget, rate-limited or failing).
- **Level 1** (automatic reply): a common inquiry, confidently classified, neutral or positive,
  in a station that opted in (``ai_auto_reply``) — never otherwise.
- **Level 2**: everything else; a draft waits for a member to approve, edit or reject.

The seed's 80 / 15 / 5 split is the mix a station aims for by tuning thresholds, never a quota.
"""

from __future__ import annotations

from conjure.apps.ops.models import Station
from conjure.apps.ops.offline import Classification

HUMAN_ONLY = frozenset({"complaint", "refund", "allergy", "health", "legal", "cancellation"})
COMMON = frozenset({"greeting", "pricing", "availability", "menu", "hours", "deposit_question"})
KNOWN = HUMAN_ONLY | COMMON | {"booking_request"}


def level_for(station: Station, c: Classification) -> int:
    """1, 2 or 3 for this classification in this station."""
    if (
        c.intent not in KNOWN
        or c.intent in HUMAN_ONLY
        or c.sensitivity == "high"
        or c.sentiment == "negative"
        or c.confidence < station.ai_level2_confidence
    ):
        return 3
    if (
        station.ai_auto_reply
        and c.intent in COMMON
        and c.sensitivity == "low"
        and c.confidence >= station.ai_level1_confidence
    ):
        return 1
    return 2
