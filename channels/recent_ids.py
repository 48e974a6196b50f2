"""The ids a channel has seen lately, so that a webhook its platform sends again is answered once.

Platforms resend what they think went undelivered (Meta a notification, Chatwoot a delivery whose
answer was slow or a 5xx), and a person must not get the same answer twice. The memory is bounded:
past `size` ids the least recently seen is forgotten, so it holds the last few minutes of traffic,
not the server's whole life.
"""

from __future__ import annotations

from collections import OrderedDict

DEFAULT_SIZE = 10_000


class RecentIds:
    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._size = size

    def first_time(self, *ids: str | None) -> bool:
        """Whether none of these ids was seen before; all are remembered from now on. None stands
        for an id the platform did not send: it is never a repeat."""
        known = [id_ for id_ in ids if id_ is not None]
        fresh = not any(id_ in self._ids for id_ in known)
        for id_ in known:
            self._ids[id_] = None
            self._ids.move_to_end(id_)
        while len(self._ids) > self._size:
            self._ids.popitem(last=False)
        return fresh
