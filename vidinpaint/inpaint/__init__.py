"""Inpainters: fill the masked pixels of each frame."""

from .classical import ClassicalInpainter, inpaint_frame

__all__ = ["ClassicalInpainter", "inpaint_frame"]
