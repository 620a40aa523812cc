"""The review page's web layer: a small Starlette app over :class:`~vidinpaint.ui.session.Review`.

Starlette + uvicorn rather than Gradio: about half a megabyte of wheels instead of tens, a
start-up of well under a second before the clip opens, and full control of how frames travel
(one JPEG per request, decoded on demand by seeking), which a 10-minute clip needs (numbers
and the comparison in docs/ARCHITECTURE.md, from scripts/ui_weight.py).
"""

from __future__ import annotations

import asyncio
import base64
import logging
import re
import shutil
import signal
import socket
import warnings
from collections.abc import Callable
from importlib.resources import files
from types import FrameType

import av
import uvicorn
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from ..atomic import atomic_path
from ..errors import OutputError, VidinpaintError, VidinpaintWarning, user_message
from .session import TRACKS_NAME, Review

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def is_local(host: str) -> bool:
    """Whether a server bound to ``host`` answers this machine alone (all of 127.0.0.0/8 is loopback)."""
    return host in LOOPBACK or host.startswith("127.")


def _page(_: Request) -> HTMLResponse:
    return HTMLResponse(files(__package__).joinpath("page.html").read_text(encoding="utf-8"))


def _user_errors(request: Request, error: Exception) -> JSONResponse:
    """Errors the user caused: the CLI's one line, shown in the page (HTTP 400)."""
    return JSONResponse({"error": user_message(error)}, status_code=400)


def _os_errors(request: Request, error: Exception) -> JSONResponse:
    """An OSError the user caused (a name too long) as :func:`_user_errors`; any other is a bug."""
    if user_message(error) is None:
        raise error
    return _user_errors(request, error)


class BadRequest(Exception):
    """A request the page never sends (a value of the wrong type, JSON that is not)."""


def _bad_request(request: Request, error: Exception) -> JSONResponse:
    """:class:`BadRequest` as one line, 400 (other errors stay 500s, logged with their traceback)."""
    return JSONResponse({"error": f"bad request to {request.url.path}: {error}"}, status_code=400)


async def _body(request: Request) -> dict:
    try:
        body = await request.json()
    except ValueError as err:  # JSONDecodeError, or text that is not UTF-8
        raise BadRequest(f"not JSON ({err})") from None
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    return body


def _number(value: object, key: str, whole: bool = False) -> int:
    """``value`` (the request's ``key``) as an int, from an int or a finite float (not a string,
    not a bool); ``whole``: a float must be a whole number (an id or a frame, not a position)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value or abs(value) > 2**31:
        raise BadRequest(f"{key} must be a number, not {value!r}")
    if whole and value != int(value):  # 1.5 toggled track 2
        raise BadRequest(f"{key} must be a whole number, not {value!r}")
    return int(round(value))


def _flag(body: dict, key: str) -> bool:
    """The request's ``key`` as a JSON boolean (false when absent)."""
    value = body.get(key, False)
    if not isinstance(value, bool):  # "true" was taken as false
        raise BadRequest(f"{key} must be true or false, not {value!r}")
    return value


def _text(body: dict, key: str) -> str:
    value = body.get(key, "")
    if not isinstance(value, str):
        raise BadRequest(f"{key} must be text, not {value!r}")
    return value


HEADER = "x-vidinpaint"  # the page sends it with every POST; another site's page cannot (no CORS)


def _refusal(method: str, headers: dict[str, str], hosts: tuple[str, ...] | None) -> str | None:
    """Why a request another web site could make through the user's browser is refused, or None:
    a POST without the page's header (a form or script elsewhere; sending it cross-site needs a
    CORS grant this server never gives), and, when serving this machine only (``hosts``: its
    names), a Host that is not one of them (DNS rebinding: a name of the attacker's that resolves
    to 127.0.0.1). A proxy's name is such a Host too, hence the option the message names."""
    host = headers.get("host", "")
    name = (host[1:host.index("]")] if host.startswith("[") and "]" in host else host.rsplit(":", 1)[0]).lower()
    if hosts is not None and name not in hosts:
        if not name:  # no name to let in: the option named below cannot help
            return "refused a request that named no host (its Host header is empty or missing)"
        return (f"refused a request for host {name!r}, not a name of this machine (DNS rebinding); "
                f"behind a proxy, let it in with: vidinpaint ui --allow-host {name}")
    why = ("a POST without the page's header" if method == "POST" and HEADER not in headers
           else "a request from another site" if headers.get("sec-fetch-site") == "cross-site"
           else None)  # (an <img> on any page could start a preview: the whole pipeline)
    return None if why is None else f"refused {why} (the review page sends none such)"


def guarded(app: Callable, hosts: tuple[str, ...] | None) -> Callable:
    """The app behind :func:`_refusal`: a refused request is a 403 with its one-line reason."""

    async def guard(scope, receive, send) -> None:
        if scope["type"] == "http":
            headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
            refusal = _refusal(scope["method"], headers, hosts)
            if refusal is not None:
                await JSONResponse({"error": refusal}, status_code=403)(scope, receive, send)
                return
        await app(scope, receive, send)

    return guard


def build_app(review: Review, hosts: tuple[str, ...] | None = LOOPBACK) -> Callable:
    """The routes; every handler is a plain function, so Starlette runs it in a worker thread.
    ``hosts``: the names of a server that listens on this machine only (see :func:`guarded`)."""

    def state(_: Request) -> JSONResponse:
        return JSONResponse(review.state())

    async def open_clip(request: Request) -> JSONResponse:
        body = await _body(request)
        await _threaded(review.open, _text(body, "path"))
        return JSONResponse(review.state())

    async def upload(request: Request) -> Response:
        target = review.upload_path(request.query_params.get("name", ""))
        try:
            with atomic_path(target, replace=True) as tmp, open(tmp, "wb") as file:
                async for chunk in request.stream():  # chunk by chunk: a long clip never sits in memory
                    file.write(chunk)
            await _threaded(review.open, target)
        except (ClientDisconnect, asyncio.CancelledError):
            # the sender went away (a closed tab), or stalled while the server stops (only then is a
            # request cancelled: after STOP_WAIT): the upload is removed, and nothing is logged,
            # since nothing went wrong here (re-raised, uvicorn logs a traceback)
            shutil.rmtree(target.parent, ignore_errors=True)
            return Response(status_code=400)
        except BaseException:
            shutil.rmtree(target.parent, ignore_errors=True)  # its own folder: nothing else is in it
            raise
        return JSONResponse(review.state())

    def frame(request: Request) -> Response:
        return Response(review.frame_jpeg(int(request.path_params["index"])), media_type="image/jpeg",
                        headers={"Cache-Control": "no-store"})

    def boxes(request: Request) -> JSONResponse:
        return JSONResponse(review.boxes_at(int(request.path_params["index"])))

    async def toggle(request: Request) -> JSONResponse:
        review.toggle(_number((await _body(request)).get("id"), "id", whole=True))
        return JSONResponse(review.state())

    async def prompt(request: Request) -> JSONResponse:
        body = await _body(request)
        if body.get("clear") is True:
            review.clear_prompts()
        else:
            coords = body.get("coords")
            if not isinstance(coords, list):
                raise BadRequest(f"coords must be a list of numbers, not {coords!r}")
            review.add_prompt(_number(body.get("frame"), "frame", whole=True), [_number(v, "coords") for v in coords])
        return JSONResponse(review.state())

    def preview(request: Request) -> JSONResponse:
        index = int(request.path_params["index"])
        context = request.query_params.get("context", "4")
        if not re.fullmatch(r"[0-9]{1,2}", context) or int(context) > 50:  # isdigit() takes "²", int() does not
            raise BadRequest(f"context must be 0-50 frames, not {context!r}")
        context = int(context)
        before, after = review.preview(index, context)
        return JSONResponse({"before": _data_url(before), "after": _data_url(after),
                             "backends": [list(b) for b in review.backends]})

    async def run(request: Request) -> JSONResponse:
        body = await _body(request)
        review.run(_text(body, "output"), _flag(body, "overwrite"))
        return JSONResponse(review.state())

    def result(_: Request) -> FileResponse:
        path = review.result_path()
        if not path.is_file():
            raise OutputError(f"{path}: the result is no longer there")
        return FileResponse(path, filename=path.name)

    def tracks_file(_: Request) -> JSONResponse:
        return JSONResponse(review.tracks_document(),
                            headers={"Content-Disposition": f'attachment; filename="{TRACKS_NAME}"'})

    routes = [
        Route("/", _page),
        Route("/api/state", state),
        Route("/api/open", open_clip, methods=["POST"]),
        Route("/api/upload", upload, methods=["POST"]),
        Route("/api/frame/{index:int}.jpg", frame),
        Route("/api/boxes/{index:int}", boxes),
        Route("/api/toggle", toggle, methods=["POST"]),
        Route("/api/prompt", prompt, methods=["POST"]),
        Route("/api/preview/{index:int}", preview),
        Route("/api/run", run, methods=["POST"]),
        Route("/api/result", result),
        Route("/api/tracks.json", tracks_file),
    ]
    app = Starlette(routes=routes, exception_handlers={VidinpaintError: _user_errors, av.FFmpegError: _user_errors,
                                                       OSError: _os_errors, BadRequest: _bad_request})
    return guarded(app, hosts)


async def _threaded(fn: Callable, *args: object) -> None:
    """Opening a clip reads its packet index: off the event loop, so polling stays live."""
    await run_in_threadpool(fn, *args)


def _data_url(jpeg: bytes) -> str:
    return "data:image/jpeg;base64," + base64.b64encode(jpeg).decode("ascii")


def bind(host: str, port: int) -> socket.socket:
    """Bind before serving, so a taken port is a one-line error and port 0 picks a free one; and
    listen at once, so the URL printed next answers (connections wait in the backlog until
    uvicorn has started, instead of being refused)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen()
    except OSError as err:
        sock.close()
        raise OutputError(f"cannot serve on {host}:{port}: {err.strerror or err}; choose another --port") from None
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def _answered_hosts(host: str, allow_hosts: tuple[str, ...]) -> tuple[str, ...] | None:
    """The Host names a server bound to ``host`` answers, or None for any. Only one listening on
    this machine alone checks them (DNS rebinding); ``allow_hosts``, names a proxy gives, are
    added there. Bound to another address it answers any name already: the names would change
    nothing, which a warning says rather than ignoring them silently."""
    if is_local(host):
        return (*LOOPBACK, host, *(name.lower() for name in allow_hosts))
    if allow_hosts:
        warnings.warn(f"--allow-host has no effect on a server bound to {host}: it answers any host name already",
                      VidinpaintWarning, stacklevel=2)
    return None


STOP_WAIT = 3.0  # s a stopping server waits for requests in flight: a stalled upload held it forever


class _Server(uvicorn.Server):
    """uvicorn's server, which takes over SIGINT and SIGTERM while it serves, stops on them and
    raises them again once stopped; a SIGINT the process was started ignoring (a job a script
    put in the background) stays ignored, as the shell asked: uvicorn stopped on it and raised it
    again into the ignore, so the page ended without a word and a run's temporary output stayed."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ignores_int = signal.getsignal(signal.SIGINT) is signal.SIG_IGN

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if not (sig == signal.SIGINT and self.ignores_int):
            super().handle_exit(sig, frame)


def _not_cancelling(record: logging.LogRecord) -> bool:
    """uvicorn's error line for the requests it cancels once :data:`STOP_WAIT` is over: the page's
    own line says the server stopped, and the upload it cancels is removed."""
    return not record.getMessage().startswith("Cancel ")


def serve(review: Review, sock: socket.socket, allow_hosts: tuple[str, ...] = ()) -> None:
    """Serve the page until Ctrl-C or SIGTERM. ``allow_hosts``: see :func:`_answered_hosts`."""
    hosts = _answered_hosts(sock.getsockname()[0], allow_hosts)
    config = uvicorn.Config(build_app(review, hosts), log_level="warning", access_log=False,
                            timeout_graceful_shutdown=STOP_WAIT)
    logging.getLogger("uvicorn.error").addFilter(_not_cancelling)
    _Server(config).run(sockets=[sock])


__all__ = ["LOOPBACK", "bind", "build_app", "serve", "url_of"]
