"""Streaming video I/O with PyAV: threaded decode and encode, timestamps and audio preserved."""

from .reader import AudioInfo, VideoInfo, VideoReader, probe
from .writer import VideoWriter

__all__ = ["AudioInfo", "VideoInfo", "VideoReader", "VideoWriter", "probe"]
