"""Server-Sent Events frames (WHATWG HTML, "Parsing an event stream"), read line by line from a byte stream."""

from dataclasses import dataclass, field
from typing import BinaryIO, Iterator, List, Optional


@dataclass
class Frame:
    """One event: `event` is None for a frame of only comments or `retry`."""

    event: Optional[str] = None
    id: Optional[str] = None
    data: str = ""
    retry: Optional[int] = None
    comments: List[str] = field(default_factory=list)


def frames(stream: BinaryIO) -> Iterator[Frame]:
    """The frames of an event stream as they arrive; ends when the stream does."""
    frame, data = Frame(), []
    for raw in stream:
        line = raw.decode("utf-8").rstrip("\r\n")
        if line == "":
            if data or frame.event is not None or frame.retry is not None or frame.comments:
                frame.data = "\n".join(data)
                if frame.event is None and data:
                    frame.event = "message"
                yield frame
            frame, data = Frame(), []
            continue
        if line.startswith(":"):
            frame.comments.append(line[1:].strip())
            continue
        name, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if name == "event":
            frame.event = value
        elif name == "id":
            frame.id = value
        elif name == "data":
            data.append(value)
        elif name == "retry" and value.isdigit():
            frame.retry = int(value)
