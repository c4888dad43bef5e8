"""The stream classes of ``pycompss.streams.distro_stream``, with PyCOMPSs' API.

A stream object is small (its id, alias, type, mode and directory): it is passed to
tasks as an argument and every copy talks to the same server-side stream. The
producer task declares it ``STREAM_OUT`` and calls ``publish``/writes files and then
``close()``; consumers declare it ``STREAM_IN`` and loop on ``is_closed()``/``poll()``.
"""

from __future__ import annotations

import logging
import os
import time
from abc import abstractmethod
from typing import Any

import cloudpickle

from eflows_kernel.streams.transport import StreamRequestError, current_run, request

logger = logging.getLogger("pycompss.streams.distro_stream")

FILE = "FILE"
OBJECT = "OBJECT"
PSCO = "PSCO"

AT_MOST_ONCE = "AT_MOST_ONCE"
AT_LEAST_ONCE = "AT_LEAST_ONCE"

POLLING_MSG = "Polling new stream items..."
# A file modified more recently than this may still be being written: it is
# delivered by a later poll (or at once when the stream is closed).
_SETTLE_SECONDS = 0.2


def str2bool(val: str) -> bool:
    return val.lower() in ("yes", "true", "t", "1")


class _StreamException(Exception):
    """PyCOMPSs' stream errors carry the server's error code and message."""

    kind = ""

    def __init__(self, code: int | None = None, message: str | None = None) -> None:
        super().__init__()
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return (f"ERROR: {self.kind} Exception.\n - Internal error code: {self.code}\n"
                f" - Internal error message: {self.message}")


class RegistrationException(_StreamException):
    kind = "Registration"


class BackendException(_StreamException):
    kind = "Backend"


def _call(action: str, error: type[Exception], wait: float = 0.0, **fields: Any) -> dict:
    try:
        return request(action, wait=wait, **fields)
    except StreamRequestError as exc:
        raise error(1, str(exc)) from None


class DistroStream:
    """Interface of file and object streams."""

    @abstractmethod
    def get_stream_id(self) -> str: ...

    @abstractmethod
    def get_stream_alias(self) -> str | None: ...

    @abstractmethod
    def get_stream_type(self) -> str: ...

    @abstractmethod
    def publish(self, message: Any) -> None: ...

    @abstractmethod
    def publish_list(self, messages: list) -> None: ...

    @abstractmethod
    def poll(self, timeout: int = 0) -> list: ...

    @abstractmethod
    def close(self) -> None: ...

    @abstractmethod
    def is_closed(self) -> bool: ...


class DistroStreamImpl(DistroStream):
    """What file and object streams share: registration, writers, closing."""

    def __init__(self, alias: str | None = None, stream_type: str | None = None,
                 internal_stream_info: list | None = None,
                 access_mode: str = AT_MOST_ONCE) -> None:
        if access_mode not in (AT_MOST_ONCE, AT_LEAST_ONCE):
            raise RegistrationException(
                1, f"unknown access mode {access_mode!r}; use AT_MOST_ONCE or AT_LEAST_ONCE")
        self.alias = alias
        self.stream_type = stream_type
        self.access_mode = access_mode
        self._run = current_run()
        answer = _call("register", RegistrationException, run=self._run, alias=alias,
                       type=stream_type, access_mode=access_mode,
                       **self._registration_fields(internal_stream_info or []))
        self.id = answer["id"]
        self._registered(answer)

    def _registration_fields(self, info: list) -> dict[str, Any]:
        return {}

    def _registered(self, answer: dict[str, Any]) -> None:
        """Take what the server knows of a stream found by alias."""

    def get_stream_id(self) -> str:
        return self.id

    def get_stream_alias(self) -> str | None:
        return self.alias

    def get_stream_type(self) -> str:
        return self.stream_type or ""

    def register_writer(self) -> None:
        """Count one more producer: the stream closes when every producer has closed it.

        Called when a task taking this stream ``STREAM_OUT`` is submitted.
        """
        _call("add_writer", BackendException, stream_id=self.id)

    def close(self) -> None:
        _call("close", BackendException, stream_id=self.id)

    def is_closed(self) -> bool:
        return bool(_call("status", BackendException, stream_id=self.id,
                          **self._status_fields())["closed"])

    def _status_fields(self) -> dict[str, Any]:
        return {}

    def __repr__(self) -> str:
        alias = f" alias={self.alias!r}" if self.alias else ""
        return f"<{type(self).__name__} {self.id}{alias}>"


class FileDistroStream(DistroStreamImpl):
    """Files written into ``base_dir`` while the stream is open are its items.

    ``poll()`` returns the absolute paths of files that appeared since the stream
    was registered and that no consumer polled yet (under ``AT_LEAST_ONCE``: that
    this consumer did not poll yet). Files already there at registration are not
    items.
    """

    def __init__(self, alias: str | None = None, base_dir: str | None = None,
                 access_mode: str = AT_MOST_ONCE) -> None:
        if base_dir is None and alias is None:
            raise RegistrationException(
                1, "a FileDistroStream needs base_dir, the directory its files are "
                   "written to: FileDistroStream(base_dir='/path/to/dir')")
        self.base_dir = os.path.abspath(base_dir) if base_dir is not None else None
        self._seen: set[str] = set()
        self._initial: frozenset[str] = frozenset()
        super().__init__(alias=alias, stream_type=FILE, internal_stream_info=[self.base_dir],
                         access_mode=access_mode)

    def _registration_fields(self, info: list) -> dict[str, Any]:
        base_dir = info[0] if info else None
        if base_dir is None:
            return {"base_dir": None, "initial": []}
        os.makedirs(base_dir, exist_ok=True)
        return {"base_dir": base_dir, "initial": self._files_in(base_dir)}

    def _registered(self, answer: dict[str, Any]) -> None:
        if answer.get("base_dir") is None:
            raise RegistrationException(
                1, f"no file stream with alias {self.alias!r} has a base_dir; give base_dir")
        self.base_dir = answer["base_dir"]
        self.access_mode = answer.get("access_mode", self.access_mode)
        self._initial = frozenset(answer.get("initial", ()))

    @staticmethod
    def _files_in(base_dir: str) -> list[str]:
        try:
            names = os.listdir(base_dir)
        except FileNotFoundError:
            return []
        paths = [os.path.join(base_dir, name) for name in names]
        return [path for path in paths if os.path.isfile(path)]

    def _candidates(self, settled_only: bool) -> list[str]:
        """Files of base_dir by modification time, without those just being written."""
        now = time.time()
        found = []
        for path in self._files_in(self.base_dir or ""):
            if path in self._initial:
                continue
            try:
                mtime = os.stat(path).st_mtime
            except FileNotFoundError:
                continue
            if settled_only and now - mtime < _SETTLE_SECONDS:
                continue
            found.append((mtime, path))
        return [path for _, path in sorted(found)]

    def publish(self, message: Any) -> None:
        logger.warning("WARN: Unnecessary call on publish on FileDistroStream")

    def publish_list(self, messages: list) -> None:
        logger.warning("WARN: Unnecessary call on publish on FileDistroStream")

    def poll(self, timeout: int = 0) -> list[str]:
        logger.info(POLLING_MSG)
        closed = self._closed_on_server()
        candidates = self._candidates(settled_only=not closed)
        if self.access_mode == AT_LEAST_ONCE:
            new = [path for path in candidates if path not in self._seen]
            self._seen.update(new)
            return new
        return _call("claim_files", BackendException, stream_id=self.id,
                     candidates=candidates)["files"]

    def _closed_on_server(self) -> bool:
        return bool(_call("status", BackendException, stream_id=self.id)["closed"])

    def is_closed(self) -> bool:
        if not self._closed_on_server():
            return False
        candidates = self._candidates(settled_only=False)
        if self.access_mode == AT_LEAST_ONCE:
            return all(path in self._seen for path in candidates)
        return bool(_call("status", BackendException, stream_id=self.id,
                          candidates=candidates)["closed"])


class ObjectDistroStream(DistroStreamImpl):
    """Objects published by producers, each delivered to one consumer's ``poll()``."""

    TOPIC_REGULAR_MESSAGES_PREFIX = "regular-messages"
    TOPIC_SYSTEM_MESSAGES = "system-messages"
    DEFAULT_KAFKA_TIMEOUT = 200  # ms

    def __init__(self, alias: str | None = None, access_mode: str = AT_MOST_ONCE) -> None:
        super().__init__(alias=alias, stream_type=OBJECT, internal_stream_info=[],
                         access_mode=access_mode)
        self.kafka_topic_name = alias or f"{self.TOPIC_REGULAR_MESSAGES_PREFIX}-{self.id}"
        self.bootstrap_server = "None"
        self.publisher = None
        self.consumer = None

    def publish(self, message: Any) -> None:
        logger.info("Publishing new object...")
        self.publish_list([message])

    def publish_list(self, messages: list) -> None:
        payload = [cloudpickle.dumps(message) for message in messages]
        _call("publish", BackendException, stream_id=self.id, messages=payload)

    def poll(self, timeout: int = DEFAULT_KAFKA_TIMEOUT) -> list[Any]:
        """The objects published and not polled yet; waits up to ``timeout`` ms for one."""
        logger.info(POLLING_MSG)
        wait = max(0.0, float(timeout or 0) / 1000.0)
        answer = _call("take_messages", BackendException, wait=wait, stream_id=self.id)
        return [cloudpickle.loads(message) for message in answer["messages"]]


class PscoDistroStream(DistroStreamImpl):
    """Streams of persistent objects need a PyCOMPSs storage backend, absent here."""

    def __init__(self, alias: str | None = None, access_mode: str = AT_MOST_ONCE) -> None:
        raise RegistrationException(
            1, "PscoDistroStream streams persistent storage objects (dataClay, Hecuba, "
               "Redis), and eflows_kernel has no persistent storage backend; use an "
               "ObjectDistroStream to stream Python objects")
