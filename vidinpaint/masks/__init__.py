"""Masks: the per-frame ``HxW bool`` arrays of pixels to remove (True = remove)."""

from .build import MaskBuilder, dilate
from .user import UserMasks, mask_files

__all__ = ["MaskBuilder", "UserMasks", "dilate", "mask_files"]
