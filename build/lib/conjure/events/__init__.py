"""The per-user event stream: typed events apps publish, delivered to the user's SSE connections.

``types`` (events, ids, protocols), ``memory`` and ``redis_hub`` (the two hubs), ``slots``
(the per-user connection cap), ``backends`` (which of them a runtime gets), ``service``
(publishing), ``deps`` and ``router`` (HTTP). docs/events.md has the contract.
"""
