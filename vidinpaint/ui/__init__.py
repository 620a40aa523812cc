"""The local review page (`vidinpaint ui`): see the tracks, choose what goes, preview, run.

Needs the optional extra: ``pip install 'vidinpaint[ui]'`` (Starlette and uvicorn).
"""
