"""Temporal stages: optical flow, and flow-guided filling of holes from other frames."""
