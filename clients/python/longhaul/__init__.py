"""A client for the Longhaul HTTP API, on the standard library only."""

from .client import Client, ConnectionFailed, LonghaulError
from .sse import Frame, frames

__all__ = ["Client", "ConnectionFailed", "LonghaulError", "Frame", "frames"]
__version__ = "0.1.0"
