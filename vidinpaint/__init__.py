"""vidinpaint: remove people (or any chosen objects) from videos automatically.

Python API::

    import vidinpaint
    result = vidinpaint.clean("match.mp4")           # -> match.clean.mp4
    result = vidinpaint.clean("match.mp4", "out.mp4", config="fast", mask="mask.png",
                              settings={"encode": {"crf": 20}})
"""

from __future__ import annotations

from pathlib import Path

__version__ = "0.1.0"


def clean(input: str | Path, output: str | Path | None = None, *, config: object = None,
          mask: str | Path | None = None, preview: bool = False, overwrite: bool = False,
          overrides: list[str] | tuple[str, ...] = (), settings: dict | None = None, progress=None):
    """Remove people (or the masked objects) from a video, an image, or a folder of images.

    Args:
        input: video file, image file, or folder of images.
        output: where to write; default ``<name>.clean.<ext>`` beside the input.
        config: a :class:`~vidinpaint.config.Config`, a preset name (``"fast"``), a YAML path,
            or None for the defaults.
        mask: user masks (image, folder of per-frame images, or mask video); skips detection.
        preview: also write a contact sheet PNG (``<output stem>.preview.png``).
        overwrite: replace an existing output.
        overrides: ``"section.key=value"`` strings, as on the command line.
        progress: called with each finished :class:`~vidinpaint.frames.Frame`.
        settings: nested per-stage overrides, e.g. ``{"encode": {"crf": 20}}``.

    Returns:
        A :class:`~vidinpaint.pipeline.CleanResult` for a file, a list of them for a folder.
    """
    from .config import load_config
    from .pipeline import clean_path

    cfg = load_config(config, overrides, settings)
    results = clean_path(input, output, cfg, mask=Path(mask) if mask else None, preview=preview,
                         overwrite=overwrite, progress=progress)
    return results if Path(input).is_dir() else results[0]


__all__ = ["clean", "__version__"]
