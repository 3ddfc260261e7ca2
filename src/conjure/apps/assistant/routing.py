"""Which responder answers: the local model first, the API fallback, or the offline responder.

One :class:`ModelRouter` per process's settings (kept on the app's settings object, so each
runtime has its own in-flight counts and circuit).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from conjure.apps.assistant.responders import OfflineResponder, Responder
from conjure.apps.assistant.settings import AssistantSettings

if TYPE_CHECKING:
    from conjure.settings import Settings


def responder_for(settings: Settings) -> Responder:
    """The responder this process's settings describe."""
    app = settings.for_app(AssistantSettings)
    if app._responder is None:
        app._responder = OfflineResponder()
    responder: Responder = app._responder
    return responder
