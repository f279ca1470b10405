"""The Longhaul API client: every operation of docs/api.md, and watch() over the task's event stream."""

import http.client
import json
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Dict, Iterator, List, Optional

from .sse import frames

Json = Any


class LonghaulError(Exception):
    """An error answer of the API: its problem+json (status, title, detail, and field or errors when about input)."""

    def __init__(self, problem: Dict[str, Any]):
        self.problem = problem
        self.status = problem.get("status")
        self.field = problem.get("field")
        self.errors = problem.get("errors") or []
        super().__init__(f"{self.status} {problem.get('title')}: {problem.get('detail')}")


class ConnectionFailed(Exception):
    """No HTTP answer at all: the server could not be reached or did not answer in time."""


class Client:
    """`Client("http://localhost:7071", key="lh_…")`; `timeout` (seconds) bounds each request."""

    def __init__(self, base_url: str, key: Optional[str] = None, timeout: float = 30.0):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.headers = {"authorization": f"Bearer {key}"} if key else {}

    # Tasks

    def submit(
        self,
        type: str,
        input: Json = None,
        idempotency_key: Optional[str] = None,
        callback_url: Optional[str] = None,
    ) -> Dict[str, Any]:
        body: Dict[str, Any] = {"type": type, "input": {} if input is None else input}
        if callback_url:
            body["callbackUrl"] = callback_url
        return self._json("POST", "/api/tasks", body, self._idempotency(idempotency_key))

    def get(self, task_id: str) -> Dict[str, Any]:
        return self._json("GET", f"/api/tasks/{_id(task_id)}")

    def list(self, limit: Optional[int] = None, cursor: Optional[str] = None, **filters: str) -> Dict[str, Any]:
        """A page `{items, nextCursor}`; filters: status, type, id_prefix, created_after, created_before."""
        return self._json("GET", "/api/tasks" + _query(limit=limit, cursor=cursor, **filters))

    def counts(self, **filters: str) -> Dict[str, Any]:
        """`{total, byStatus}`; filters: type, id_prefix, created_after, created_before."""
        return self._json("GET", "/api/tasks/counts" + _query(**filters))

    def cancel(self, task_id: str) -> Dict[str, Any]:
        return self._json("DELETE", f"/api/tasks/{_id(task_id)}")

    def result(self, task_id: str) -> Json:
        return self._json("GET", f"/api/tasks/{_id(task_id)}/result")

    def input(self, task_id: str) -> Json:
        return self._json("GET", f"/api/tasks/{_id(task_id)}/input")

    def steps(self, task_id: str) -> List[Dict[str, Any]]:
        return self._json("GET", f"/api/tasks/{_id(task_id)}/steps")["items"]

    def retry(self, task_id: str) -> Dict[str, Any]:
        """Retries a failed task from the step that failed."""
        return self._json("POST", f"/api/tasks/{_id(task_id)}/retry")

    def rerun(self, task_id: str, idempotency_key: Optional[str] = None) -> Dict[str, Any]:
        """A new task with the same type and input, linked by `rerunOf`."""
        return self._json("POST", f"/api/tasks/{_id(task_id)}/rerun", None, self._idempotency(idempotency_key))

    def signal(
        self, task_id: str, name: str, payload: Any, idempotency_key: Optional[str] = None
    ) -> Dict[str, Any]:
        """Sends the task the signal `name` (an approval, a callback); the first of each name counts."""
        path = f"/api/tasks/{_id(task_id)}/signals/{urllib.parse.quote(name, safe='')}"
        return self._json("POST", path, payload, self._idempotency(idempotency_key))

    def bulk(self, action: str, filter: Dict[str, str], limit: Optional[int] = None) -> Dict[str, Any]:
        """`action` is "cancel" or "retry"; `filter` as the API names it (status, type, idPrefix, …); `{}` for all."""
        body: Dict[str, Any] = {"filter": filter}
        if limit is not None:
            body["limit"] = limit
        return self._json("POST", f"/api/tasks/bulk/{urllib.parse.quote(action)}", body)

    def events(self, task_id: str, after: int = 0, limit: int = 100) -> Dict[str, Any]:
        """The persisted history, oldest first, after seq `after`."""
        return self._json("GET", f"/api/tasks/{_id(task_id)}/events" + _query(after=after, limit=limit))

    def task_types(self) -> List[Dict[str, Any]]:
        return self._json("GET", "/api/task-types")

    def health(self) -> Dict[str, Any]:
        return self._json("GET", "/api/health")

    def watch(
        self,
        task_id: str,
        last_event_id: Optional[str] = None,
        retry_seconds: float = 2.0,
        on_connection_error=None,
    ) -> Iterator[Dict[str, Any]]:
        """
        Yields `{"kind": "snapshot", "task", "seq"}`, then `{"kind": "event", "event"}` for each event, and last
        `{"kind": "end", "status"}`. When the server closes the stream (every SSE_MAX_SECONDS) or the connection
        drops, it reconnects with Last-Event-ID, so no persisted event is lost or repeated. `last_event_id` on the
        first connection replays the history after it ("0": all of it). An error answer raises LonghaulError.
        """
        url = self.base_url + f"/api/tasks/{_id(task_id)}/events"
        while True:
            headers = {**self.headers, "accept": "text/event-stream"}
            if last_event_id is not None:
                headers["last-event-id"] = last_event_id
            try:
                response = urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=self.timeout)
            except urllib.error.HTTPError as err:
                raise _failure(err) from None
            except (urllib.error.URLError, OSError) as err:
                if on_connection_error:
                    on_connection_error(_connection_failed("GET", url, err))
                time.sleep(retry_seconds)
                continue
            try:
                with response:
                    for frame in frames(response):
                        if frame.retry is not None:
                            retry_seconds = frame.retry / 1000
                        if frame.event is None:
                            continue
                        if frame.id is not None:
                            last_event_id = frame.id
                        data = json.loads(frame.data)
                        if frame.event == "snapshot":
                            yield {"kind": "snapshot", "task": data, "seq": int(frame.id or 0)}
                        elif frame.event == "end":
                            yield {"kind": "end", "status": data["status"]}
                            return
                        else:
                            yield {"kind": "event", "event": data}
            except (OSError, http.client.HTTPException) as err:
                # A connection cut mid-stream is a reconnect like a close, not the end.
                if on_connection_error:
                    on_connection_error(ConnectionFailed(f"the stream of task {task_id} broke off: {err}"))
            time.sleep(retry_seconds)

    # Plumbing

    def _idempotency(self, key: Optional[str]) -> Dict[str, str]:
        return {"idempotency-key": key} if key else {}

    def _json(self, method: str, path: str, body: Json = None, headers: Optional[Dict[str, str]] = None) -> Json:
        data = None if body is None else json.dumps(body).encode("utf-8")
        all_headers = {**self.headers, **(headers or {})}
        if data is not None:
            all_headers["content-type"] = "application/json"
        url = self.base_url + path
        request = urllib.request.Request(url, data=data, method=method, headers=all_headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                text = response.read().decode("utf-8")
        except urllib.error.HTTPError as err:
            raise _failure(err) from None
        except (urllib.error.URLError, OSError) as err:
            raise _connection_failed(method, url, err) from None
        return json.loads(text) if text else None


def _id(task_id: str) -> str:
    return urllib.parse.quote(task_id, safe="")


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _query(**params: Any) -> str:
    """The set parameters as a query string, their names in the API's camelCase."""
    pairs = {_camel(k): str(v) for k, v in params.items() if v is not None}
    return "?" + urllib.parse.urlencode(pairs) if pairs else ""


def _failure(err: urllib.error.HTTPError) -> LonghaulError:
    body = err.read().decode("utf-8", "replace")
    try:
        problem = json.loads(body)
    except ValueError:
        problem = None
    if not isinstance(problem, dict) or "status" not in problem:
        problem = {"status": err.code, "title": err.reason, "detail": body[:200] or f"HTTP {err.code}"}
    return LonghaulError(problem)


def _connection_failed(method: str, url: str, err: Exception) -> ConnectionFailed:
    reason = getattr(err, "reason", err)
    if isinstance(reason, socket.timeout):
        return ConnectionFailed(f"{method} {url}: no answer in time")
    parsed = urllib.parse.urlsplit(url)
    return ConnectionFailed(f"cannot reach {parsed.scheme}://{parsed.netloc}: {reason}")
