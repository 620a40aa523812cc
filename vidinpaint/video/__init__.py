"""Streaming video I/O with PyAV: threaded decode and encode; timestamps, colour and every other stream preserved."""

from .reader import VideoInfo, VideoReader, probe
from .writer import VideoWriter

__all__ = ["VideoInfo", "VideoReader", "VideoWriter", "probe"]
