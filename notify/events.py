"""Server-Sent Events to signed-in users: an in-process hub from the dispatcher's thread to the streams.

Each `GET /events` stream subscribes with its event loop; `publish(username, event)` may be called
from any thread and puts the event on every stream of that user. Nothing is lost when no stream is
open: every event is a notification already in the user's inbox, and a stream resumed with
`Last-Event-ID` replays what came after that id.
"""
from __future__ import annotations

import asyncio
import threading
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

QUEUE_SIZE = 1000


@dataclass(eq=False)
class Stream:
    username: str
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue = field(default_factory=lambda: asyncio.Queue(QUEUE_SIZE))
    dropped: int = 0

    def put(self, event: Mapping[str, Any]) -> None:
        try:
            self.queue.put_nowait(dict(event))
        except asyncio.QueueFull:  # a stalled client: it will replay from the inbox on reconnect
            self.dropped += 1


class EventHub:
    def __init__(self) -> None:
        self._streams: dict[str, set[Stream]] = defaultdict(set)
        self._lock = threading.Lock()

    def subscribe(self, username: str) -> Stream:
        stream = Stream(username, asyncio.get_running_loop())
        with self._lock:
            self._streams[username].add(stream)
        return stream

    def unsubscribe(self, stream: Stream) -> None:
        with self._lock:
            self._streams[stream.username].discard(stream)

    def publish(self, username: str, event: Mapping[str, Any]) -> int:
        """Queue the event on the user's open streams; how many streams got it."""
        with self._lock:
            streams = list(self._streams.get(username, ()))
        for stream in streams:
            try:
                stream.loop.call_soon_threadsafe(stream.put, event)
            except RuntimeError:  # its loop has closed
                self.unsubscribe(stream)
        return len(streams)

    def listeners(self, username: str) -> int:
        with self._lock:
            return len(self._streams.get(username, ()))
