"""PyAV round trips: timestamps, audio, rotation, odd sizes, bit depth, codec fallback."""

import re
import warnings
from dataclasses import replace
from fractions import Fraction
from pathlib import Path
from types import SimpleNamespace

import av
import numpy as np
import pytest

import corpus
from conftest import audio_packets, decode_all, psnr
from vidinpaint.config import EncodeConfig
from vidinpaint.errors import OutputError, VidinpaintWarning
from vidinpaint.synthetic import background, tone, walkers, write_clip
from vidinpaint.video import VideoReader, VideoWriter, probe
from vidinpaint.video.reader import presented, stored, upright
from vidinpaint.video.colour import Colour
from vidinpaint.video.encoders import choose_encoder


def roundtrip(src: Path, dst: Path, **encode) -> None:
    reader = VideoReader(src)
    writer = VideoWriter(dst, reader.info, EncodeConfig(**encode))
    for frame in reader:
        writer.write(frame)
    writer.close()


def frames_of(width=96, height=64, n=12):
    bg = background(width, height, 3)
    return [np.roll(bg, 3 * i, axis=1) for i in range(n)]


def test_roundtrip_keeps_frames_timestamps_and_audio_bytes(walker_clip, tmp_path):
    src, _, _ = walker_clip
    dst = tmp_path / "out.mp4"
    roundtrip(src, dst)
    a, ta = decode_all(src)
    b, tb = decode_all(dst)
    assert len(a) == len(b) == 48
    assert ta == pytest.approx(tb, abs=1e-6)
    assert audio_packets(dst) == audio_packets(src)  # copied, not re-encoded
    assert psnr(np.stack(a), np.stack(b)) > 40  # second-generation x264 at the default CRF


def test_variable_frame_rate_timestamps_survive(tmp_path):
    src, dst = tmp_path / "vfr.mp4", tmp_path / "out.mp4"
    pts = [0, 1, 2, 5, 6, 10, 11, 12, 20, 21]
    write_clip(src, frames_of(n=len(pts)), pts=pts, time_base=Fraction(1, 30))
    roundtrip(src, dst)
    _, times = decode_all(dst)
    assert times == pytest.approx([p / 30 for p in pts], abs=1e-4)


def video_end(path: Path) -> tuple[float, float]:
    """Where the last frame stops showing (its pts + its packet's duration) and the container's duration, in seconds."""
    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        end = max(p.pts + p.duration for p in c.demux(stream) if p.pts is not None)
        return float(end * stream.time_base), c.duration / av.time_base


@pytest.mark.parametrize("out_name", ["out.mp4", "out.mkv"])
def test_variable_frame_rate_clip_lasts_as_long_as_the_input(tmp_path, out_name):
    """The last frame, held 1/25 s, keeps its length: it got one period of the average rate (~1/20 s)."""
    src, dst = tmp_path / "vfr.mp4", tmp_path / out_name
    write_clip(src, frames_of(n=10), pts=[0, 1, 2, 5, 6, 10, 11, 12, 20, 21], time_base=Fraction(1, 30))
    roundtrip(src, dst)
    (end, duration), (end_in, duration_in) = video_end(dst), video_end(src)
    assert end == pytest.approx(end_in, abs=1e-3)
    assert duration == pytest.approx(duration_in if dst.suffix == src.suffix else end_in, abs=1e-3)


def test_a_reordered_variable_rate_mp4_keeps_its_length(tmp_path):
    """x264 reorders frames, so the last sample of the MP4 is not the last picture shown; with its
    own length the track came out 0.92 s for 0.88 (MP4 samples last from one decode time to the next)."""
    src, dst = tmp_path / "vfr.mp4", tmp_path / "out.mp4"
    pts = [0, 1, 2, 4, 5, 9, 10, 11, 15, 16, 17, 18, 25, 26, 30, 31, 32, 40, 41, 42]
    write_clip(src, [rgb for rgb, _, _ in walkers(160, 120, len(pts), people=1)], pts=pts, time_base=Fraction(1, 50))
    roundtrip(src, dst)
    with av.open(str(src)) as a, av.open(str(dst)) as b:
        assert b.duration == a.duration and b.streams.video[0].duration == a.streams.video[0].duration
    assert decode_all(dst)[1] == decode_all(src)[1]


def test_rotation_metadata_is_applied_for_stages_and_written_back(tmp_path):
    src, dst = tmp_path / "rot.mp4", tmp_path / "out.mp4"
    write_clip(src, frames_of(96, 64, 4), rotation=90)
    info = probe(src)
    assert info.rotation == 90 and info.display_size == (64, 96)
    first = next(iter(VideoReader(src)))
    assert first.rgb.shape == (96, 64, 3)  # upright for the detector
    roundtrip(src, dst)
    out = probe(dst)
    assert out.rotation == 90 and (out.width, out.height) == (96, 64)
    a, _ = decode_all(src)
    b, _ = decode_all(dst)
    assert psnr(a[0], b[0]) > 40  # rotated back, not stored upright


def decoding_order_clip(path: Path, n: int = 24) -> None:
    """An H.264 MP4 with B-frames whose packets carry their decoding times as presentation times
    (pts = dts), as opencv-doc's box.mp4 does."""
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=25, options={"bf": "2", "g": "12"})
        video.width, video.height, video.pix_fmt = 96, 64, "yuv420p"
        for k, rgb in enumerate([*frames_of(96, 64, n), None]):
            picture = None if rgb is None else av.VideoFrame.from_ndarray(rgb, format="rgb24")
            if picture is not None:
                picture.pts = k
            for packet in video.encode(picture):
                packet.pts = packet.dts
                out.mux(packet)


def test_timestamps_written_in_decoding_order_are_given_in_presentation_order(tmp_path):
    """The decoder puts such a file's pictures in order and their timestamps out of it: made
    monotonic one by one, frames came out 1 ms apart and the clip ran longer. Each picture now
    takes the timestamps in order, and the run says so; a sound file is read as it is."""
    src, good = tmp_path / "decoding_order.mp4", tmp_path / "good.mp4"
    decoding_order_clip(src)
    with av.open(str(src)) as c:
        raw = [f.pts for f in c.decode(video=0)]
    assert raw != sorted(raw)
    with pytest.warns(VidinpaintWarning, match=r"timestamps come out of order \(decoding times written as "):
        assert [f.pts for f in VideoReader(src)] == sorted(raw)
    write_clip(good, frames_of(n=20), fps=10)
    with warnings.catch_warnings():
        warnings.simplefilter("error", VidinpaintWarning)
        assert [f.pts for f in VideoReader(good)] == [f.pts for f in av.open(str(good)).decode(video=0)]


def test_a_timestamp_that_goes_back_later_in_the_clip_is_given_a_time_and_said(tmp_path):
    """Past the first pictures, a timestamp that repeats (or goes back) is given the next frame's
    time, as before; the run now says so, since the output's timestamps are then not the input's."""
    src = tmp_path / "repeated.mkv"
    with av.open(str(src), "w") as out:
        video = out.add_stream("mjpeg", rate=25)
        video.width, video.height, video.pix_fmt = 48, 32, "yuvj420p"
        video.time_base = video.codec_context.time_base = Fraction(1, 1000)
        packets = []
        for k in range(24):
            picture = av.VideoFrame.from_ndarray(np.full((32, 48, 3), 10 * k, np.uint8), format="rgb24")
            picture.pts, picture.time_base = 40 * k, Fraction(1, 1000)
            packets += video.encode(picture)
        packets += video.encode(None)
        packets[20].pts = packets[20].dts = packets[19].pts
        out.mux(packets)
    with pytest.warns(VidinpaintWarning, match=r"1 of 24 frames' timestamps went back or repeated \(the first at "
                                               r"frame 20\); each was given the next frame's time"):
        assert [f.pts for f in VideoReader(src)] == [40 * k for k in range(24)]


def test_a_timestamp_reset_is_not_taken_for_decoding_order():
    """A splice that starts the timestamps again (100..109, then 0..19) is no reordering: sorted,
    the pictures before the splice took the times of those after it."""
    pictures = [SimpleNamespace(pts=p) for p in [*range(100, 110), *range(20)]]
    with warnings.catch_warnings():
        warnings.simplefilter("error", VidinpaintWarning)
        assert [pts for _, pts in presented(pictures, Path("splice.ts"))] == [p.pts for p in pictures]


@pytest.mark.parametrize("suffix", [".avi", ".ts"])
def test_a_rotated_clip_in_a_container_without_rotation_is_written_upright(tmp_path, suffix):
    """AVI and MPEG-TS keep no rotation tag: the pictures were stored as the input stores them and
    the tag dropped without a word, so portrait footage played sideways. They are written as
    players show the input, and the encode line says so."""
    src, dst = tmp_path / "rot.mp4", tmp_path / f"out{suffix}"
    write_clip(src, frames_of(96, 64, 4), rotation=90)
    reader = VideoReader(src)
    writer = VideoWriter(dst, reader.info, EncodeConfig())
    shown = []
    for frame in reader:
        shown.append(frame.rgb)
        writer.write(frame)
    writer.close()
    assert f"rotation 90 applied to the pictures ({'avi' if suffix == '.avi' else 'mpegts'} keeps no rotation tag)" \
        in writer.backend
    out = probe(dst)
    assert out.rotation == 0 and (out.width, out.height) == (64, 96)
    assert all(psnr(a.rgb, b) > 30 for a, b in zip(VideoReader(dst), shown))


@pytest.mark.parametrize("rotation", [0, 90, 180, 270])
def test_upright_and_stored_are_inverse(rotation):
    img = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    assert np.array_equal(stored(upright(img, rotation), rotation), img)


def test_odd_frame_size_is_kept(tmp_path):
    src, dst = tmp_path / "odd.mp4", tmp_path / "out.mp4"
    write_clip(src, frames_of(641 // 4 * 4 + 1, 479 // 4 * 4 + 3, 3), pix_fmt="yuv444p")
    roundtrip(src, dst)
    info = probe(dst)
    assert (info.width, info.height) == (641, 479)
    assert info.pix_fmt == "yuv444p"  # 4:2:0 cannot hold odd sizes
    a, _ = decode_all(src)
    b, _ = decode_all(dst)
    assert psnr(a[-1], b[-1]) > 40


def test_ten_bit_input_gives_8_bit_rgb_and_a_16_bit_copy_and_stays_10_bit(tmp_path):
    src, dst = tmp_path / "ten.mp4", tmp_path / "out.mp4"
    write_clip(src, frames_of(n=3), pix_fmt="yuv420p10le")
    assert probe(src).pix_fmt == "yuv420p10le"
    first = next(iter(VideoReader(src)))
    assert first.rgb.dtype == np.uint8 and first.deep.dtype == np.uint16
    assert np.abs(first.deep.astype(int) // 257 - first.rgb).max() <= 1
    roundtrip(src, dst)
    assert len(decode_all(dst)[0]) == 3
    assert probe(dst).pix_fmt == "yuv420p10le"


def test_audio_is_reencoded_when_the_container_refuses_the_codec(tmp_path):
    src, dst = tmp_path / "pcm.mkv", tmp_path / "out.mp4"
    write_clip(src, frames_of(n=10), fps=10, audio=tone(1.0), audio_codec="pcm_s16le")
    reader = VideoReader(src)
    writer = VideoWriter(dst, reader.info, EncodeConfig())
    assert writer.others.summary == "audio stream 0 (pcm_s16le) re-encoded to aac (mp4 refuses pcm_s16le)"
    for frame in reader:
        writer.write(frame)
    writer.close()
    assert len(audio_packets(dst)) > 0


def test_audio_none_drops_it_and_says_so(walker_clip, tmp_path):
    dst = tmp_path / "out.mp4"
    with pytest.warns(VidinpaintWarning, match=r"dropped audio stream 0 \(aac, und\) as encode.audio=none"):
        roundtrip(walker_clip[0], dst, audio="none")
    assert audio_packets(dst) == []


def test_avi_without_audio_roundtrips(tmp_path):
    src, dst = tmp_path / "in.avi", tmp_path / "out.avi"
    write_clip(src, frames_of(n=6), codec="mpeg4", fps=10)
    roundtrip(src, dst)
    assert len(decode_all(dst)[0]) == 6


def test_avi_output_keeps_its_timestamps(tmp_path):
    """AVI stores no presentation times; H.264 with B-frames in it came out a frame late and out
    of order (pts 1, 2, 3, 4, 7, 6, ...), so AVI gets MPEG-4 Part 2 by default. A constant rate
    needs no word about AVI's single rate."""
    src, dst = tmp_path / "in.mp4", tmp_path / "out.avi"
    write_clip(src, frames_of(n=12), fps=10)
    with warnings.catch_warnings():
        warnings.simplefilter("error", VidinpaintWarning)
        roundtrip(src, dst)
    assert decode_all(dst)[1] == decode_all(src)[1]


def test_avi_output_of_a_clip_whose_last_frame_is_held_keeps_its_rate(tmp_path):
    """AVI's one rate was the average (frames over the stream's length): a 30 fps clip whose last
    frame lasts a second averaged 15.25 fps, and the AVI played at half speed, its frames up to
    0.9 s late. The rate the timestamps are on is taken instead."""
    src, dst = tmp_path / "held.mp4", tmp_path / "out.avi"
    packets = []
    with av.open(str(src), "w") as out:
        video = out.add_stream("libx264", rate=30, options={"bf": "0"})
        video.width, video.height, video.pix_fmt = 96, 64, "yuv420p"
        video.time_base = Fraction(1, 15360)
        for k, rgb in enumerate(frames_of(96, 64, 30)):
            picture = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            picture.pts, picture.time_base = 512 * k, Fraction(1, 15360)
            packets += video.encode(picture)
        packets += video.encode(None)
        for packet in packets:
            packet.duration = 512
        packets[-1].duration = 15360  # held for a second
        out.mux(packets)
    assert probe(src).average_rate < 16
    with warnings.catch_warnings():
        warnings.simplefilter("error", VidinpaintWarning)
        roundtrip(src, dst)
    assert decode_all(dst)[1] == pytest.approx(decode_all(src)[1], abs=1e-6)


def test_avi_output_takes_no_base_rate_below_the_average(tmp_path):
    """FFmpeg reads the base rate off the start of the file: 10 s at 15 fps, then 3 s at 30 fps
    gives 15, and at that rate the AVI's last frame came 3 s late (1.9 s at the average, 18.3: no
    one rate fits, and the run says so)."""
    src, dst = tmp_path / "step.mp4", tmp_path / "out.avi"
    pts = [1024 * k for k in range(150)] + [150 * 1024 + 512 * k for k in range(90)]
    write_clip(src, [np.full((32, 48, 3), k % 250, np.uint8) for k in range(240)], fps=15,
               time_base=Fraction(1, 15360), pts=pts)
    assert probe(src).base_rate == 15 and probe(src).average_rate > 18
    with pytest.warns(VidinpaintWarning, match="AVI holds one frame rate"):
        roundtrip(src, dst)
    with av.open(str(dst)) as out:
        assert out.streams.video[0].average_rate > 18
    assert decode_all(dst)[1][-1] < decode_all(src)[1][-1] + 2.5


def test_avi_output_of_a_clip_with_aac_audio_keeps_the_video_in_time(tmp_path):
    """AAC starts 1024 samples before 0 (its priming). AVI cannot, and FFmpeg's default shift of
    every stream moved the video by part of a frame: every frame but the first came out a frame
    late (0, 0.2, 0.3, ... at 10 fps), out of sync with the sound."""
    src, dst = tmp_path / "in.mp4", tmp_path / "out.avi"
    write_clip(src, frames_of(n=12), fps=10, audio=tone(1.2))
    roundtrip(src, dst)
    assert decode_all(dst)[1] == pytest.approx(decode_all(src)[1], abs=1e-6)
    assert len(audio_packets(dst)) > 0


def test_avi_output_of_a_rate_whose_time_base_mpeg4_cannot_take(tmp_path):
    """A 14.99985 fps AVI (time base 66667/1000000, as opencv-doc's tree.avi) cleaned to AVI:
    MPEG-4 Part 2 takes no time base denominator over 65535, and the encoder did not open."""
    src, dst = tmp_path / "in.avi", tmp_path / "out.avi"
    write_clip(src, frames_of(n=6), fps=15, codec="mjpeg", pix_fmt="yuvj420p", time_base=Fraction(66667, 1000000))
    roundtrip(src, dst)
    assert decode_all(dst)[1] == pytest.approx(decode_all(src)[1], abs=1e-3)


def test_avi_output_declares_the_frame_rate_whatever_the_input_time_base(tmp_path):
    """AVI counts frames: from Matroska (time base 1/1000) it declared 1000 fps and stored 99
    empty frames for each of a 10 fps clip's."""
    src, dst = tmp_path / "in.mkv", tmp_path / "out.avi"
    write_clip(src, frames_of(n=12), fps=10)
    roundtrip(src, dst)
    with av.open(str(dst)) as out:
        stream = out.streams.video[0]
        assert (stream.average_rate, stream.frames) == (10, 12)
    assert decode_all(dst)[1] == pytest.approx(decode_all(src)[1], abs=1e-6)


def test_a_variable_rate_clip_in_avi_keeps_every_frame_in_order(tmp_path):
    """Frames closer together than the clip's average period share a frame slot of AVI's:
    the encoder refused the second ("returned 22"). Each takes the next free slot instead, and
    the run says how far frames moved (the burst pushes the ones after it a slot late)."""
    src, dst = tmp_path / "in.mkv", tmp_path / "out.avi"
    write_clip(src, frames_of(n=8), fps=10, pts=[0, 100, 130, 160, 190, 400, 500, 600], time_base=Fraction(1, 1000))
    with pytest.warns(VidinpaintWarning, match=r"AVI holds one frame rate \(10 fps\): 6 of 8 frames moved to the "
                                               r"nearest free frame slot, up to 210 ms from their time"):
        roundtrip(src, dst)
    frames, times = decode_all(dst)
    assert len(frames) == 8 and times == sorted(set(times)) and times[0] == 0
    with av.open(str(dst)) as out:
        assert out.streams.video[0].average_rate == 10


def choose(codec: str = "auto", gpu: bool = False, **encode):
    return choose_encoder(EncodeConfig(codec=codec, **encode), "mp4", Colour(), "h264", (64, 64), gpu)


def test_only_the_default_codec_falls_back_and_says_why(monkeypatch):
    assert (choose().codec, choose().note) == ("libx264", "")
    with pytest.raises(OutputError, match="--codec no_such_encoder: no_such_encoder is not in this FFmpeg build"):
        choose("no_such_encoder")
    with pytest.raises(OutputError, match="--codec libx264: libx264 does not open with yuv420p"):
        choose("libx264", preset="no-such-preset")  # compiled in, will not open
    fallback = choose(preset="no-such-preset")
    assert fallback.codec != "libx264" and "libx264 does not open" in fallback.note
    monkeypatch.setattr(av, "codecs_available", set())
    with pytest.raises(OutputError, match="no usable video encoder"):
        choose()


@pytest.mark.parametrize("codec", ["libx264", "libx265"])
def test_nvencs_presets_are_x264s_for_x264_and_x265(codec):
    """``--encoder-preset p4`` (NVENC's) is valid, but libx264 refused it: an error on the CPU,
    and on a node where NVENC does not open, the fallback to libx264 failed too."""
    if codec not in av.codecs_available:
        pytest.skip(f"no {codec} in this FFmpeg build")
    assert (choose(codec, preset="p1").options["preset"], choose(codec, preset="p7").options["preset"]) == \
        ("ultrafast", "veryslow")
    assert choose(gpu=True, preset="p4").options["preset"] in ("p4", "medium")  # NVENC's own, or x264's after it


def test_an_encoder_is_tried_at_the_output_size():
    """Encoders with size rules (NVENC's minimum, H.261's two sizes) were refused by a 64x64 trial."""
    cif = choose_encoder(EncodeConfig(codec="h261"), "avi", Colour(), "h264", (352, 288))
    assert cif.codec == "h261"
    with pytest.raises(OutputError, match="--codec h261: h261 does not open"):
        choose_encoder(EncodeConfig(codec="h261"), "avi", Colour(), "h264", (1280, 720))


def test_nvenc_is_the_default_on_a_gpu_and_a_refusal_says_why(monkeypatch):
    if "h264_nvenc" not in av.codecs_available:
        pytest.skip("this FFmpeg build has no NVENC")
    monkeypatch.setenv("NVIDIA_DRIVER_CAPABILITIES", "compute,utility")
    on_gpu = choose_encoder(EncodeConfig(), "mp4", Colour(), "h264", (1920, 1080), gpu=True)
    if on_gpu.codec == "h264_nvenc":
        pytest.skip("NVENC opens on this machine")
    assert on_gpu.codec == "libx264"
    # FFmpeg's own log in brackets (here "Cannot load libcuda.so.1": FFmpeg logs it on the process's first
    # try alone, so not if another test tried NVENC first), then the container's missing capability
    assert re.match(r"h264_nvenc does not open with yuv420p: [^;(]+( \(.+\))?; this container's "
                    r"NVIDIA_DRIVER_CAPABILITIES=compute,utility lacks video", on_gpu.note), on_gpu.note
    with pytest.raises(OutputError, match=r"--codec h264_nvenc: h264_nvenc does not open with yuv420p: .+"):
        choose_encoder(EncodeConfig(codec="h264_nvenc"), "mp4", Colour(), "h264", (1920, 1080))
    monkeypatch.setenv("NVIDIA_DRIVER_CAPABILITIES", "all")
    assert "CAPABILITIES" not in choose_encoder(EncodeConfig(), "mp4", Colour(), "h264", (1920, 1080), gpu=True).note


@pytest.mark.parametrize("height,matrix", [(576, 5), (720, 1)])
def test_untagged_video_uses_what_players_assume_both_ways(height, matrix):
    assert Colour(height=height).sws_matrix == matrix  # BT.601 for SD, BT.709 for HD
    assert Colour(matrix=1, height=480).sws_matrix == 1  # a tag always wins


def test_unchanged_pixels_keep_their_10_bit_values():
    rng = np.random.default_rng(0)
    deep = rng.integers(4096, 60000, (32, 32, 3), dtype=np.uint16)
    rgb = ((deep.astype(np.uint32) + 128) // 257).astype(np.uint8)
    rgb[:8, :8] = 0  # what a stage painted
    colour = Colour(matrix=1, primaries=1, transfer=1, range=1, depth=10, chroma="444", height=32)
    errors = []
    for copy in (deep, None):
        back = colour.to_rgb(colour.from_rgb(rgb, copy, "yuv444p10le"))[1].astype(np.int64)
        errors.append(np.abs(back[8:, 8:] - deep[8:, 8:]).mean())
        assert np.abs(back[:8, :8]).max() < 2 * 257  # the painted pixels are the stage's
    assert errors[0] < errors[1] / 2  # the 16-bit copy beats rounding through 8 bits


def _planes(frame: av.VideoFrame) -> list[np.ndarray]:
    dtype = np.uint16 if "10" in frame.format.name else np.uint8
    return [np.frombuffer(p, dtype).reshape(p.height, -1)[:, :p.width].copy() for p in frame.planes]


@pytest.mark.parametrize("fmt,size", [("yuv420p", (96, 64)), ("yuvj420p", (96, 64)), ("yuv422p", (80, 48)),
                                      ("yuv444p", (64, 48)), ("yuv420p10le", (96, 64)), ("yuv420p", (95, 63))])
def test_a_frame_converted_in_the_box_of_its_change_is_the_whole_frame_converted(fmt, size):
    """Only the box around the changed pixels goes through swscale; what comes out must be what
    converting the whole frame and keeping the source's samples outside the change gave."""
    width, height = size
    deep_input = "10" in fmt
    colour = Colour(matrix=1, primaries=1, transfer=1, range=2 if "yuvj" in fmt else 1,
                    depth=10 if deep_input else 8, height=height)
    texture = background(width, height, 3)
    source = colour.from_rgb(texture, texture.astype(np.uint16) * 257 + 99 if deep_input else None, fmt)
    for painted in [(slice(0, 0), slice(0, 0)), (slice(20, 37), slice(33, 50)), (slice(0, 5), slice(0, width)),
                    (slice(height - 3, height), slice(width - 9, width)), (slice(0, height), slice(0, width))]:
        rgb, deep = colour.to_rgb(source)
        rgb[painted] = (200, 30, 90)
        out = colour.over_source(rgb, deep, fmt, source)
        changed = np.zeros((height, width), bool)
        changed[painted] = True
        whole = _planes(colour.from_rgb(rgb, deep, fmt))
        for mine, converted, old in zip(_planes(out), whole, _planes(source)):
            fy, fx = -(-height // mine.shape[0]), -(-width // mine.shape[1])
            hit = np.zeros(mine.shape, bool)
            for y, x in zip(*np.nonzero(changed)):
                hit[y // fy, x // fx] = True
            assert np.array_equal(mine, np.where(hit, converted, old)), painted


def test_unchanged_pixels_keep_the_decoded_samples_exactly():
    colour = Colour(matrix=1, primaries=1, transfer=1, range=1, height=64)
    source = colour.from_rgb(background(96, 64, 3), None, "yuv420p")
    rgb, _ = colour.to_rgb(source)
    rgb[16:32, 20:40] = 0  # what a stage painted
    out = colour.over_source(rgb, None, "yuv420p", source)

    def plane(frame, i):
        p = frame.planes[i]
        return np.frombuffer(p, np.uint8).reshape(p.height, -1)[:, :p.width].astype(int)

    luma, painted = plane(out, 0), np.zeros((64, 96), bool)
    painted[16:32, 20:40] = True
    assert np.array_equal(luma[~painted], plane(source, 0)[~painted])  # not one code value moved
    assert np.abs(luma[painted] - 16).max() <= 1  # black in TV range
    blocks = np.zeros((32, 48), bool)
    blocks[8:16, 10:20] = True
    for i in (1, 2):
        assert np.array_equal(plane(out, i)[~blocks], plane(source, i)[~blocks])


def test_the_encoder_finds_changes_against_the_decoders_picture_not_a_second_conversion(tmp_path, monkeypatch):
    """A decoded frame keeps the decoder's RGB (``Frame.decoded``, the same array as ``rgb``),
    read-only: the encoder compares the stages' picture with it instead of converting the source
    again, and a stage that wrote into the picture instead of replacing it fails loudly rather
    than having its change taken for unchanged (and dropped from the output)."""
    src = tmp_path / "in.mp4"
    write_clip(src, frames_of(96, 64, 3))
    frames = list(VideoReader(src))
    assert all(f.decoded is f.rgb and not f.rgb.flags.writeable for f in frames)
    with pytest.raises(ValueError, match="read-only"):
        frames[0].rgb[0, 0] = 0
    conversions = []
    to_rgb = Colour.to_rgb
    monkeypatch.setattr(Colour, "to_rgb", lambda self, vf: conversions.append(vf) or to_rgb(self, vf))
    outputs = []
    for keep in (True, False):
        dst = tmp_path / f"out{keep}.mp4"
        writer = VideoWriter(dst, probe(src), EncodeConfig())
        for frame in frames:
            painted = frame.rgb.copy()
            painted[8:24, 16:40] = (200, 30, 90)
            writer.write(replace(frame, rgb=painted, decoded=frame.decoded if keep else None))
        writer.close()
        outputs.append(decode_all(dst)[0])
        assert len(conversions) == (0 if keep else len(frames))
    assert all(np.array_equal(a, b) for a, b in zip(*outputs, strict=True))


def test_a_matroska_clip_whose_sound_runs_on_is_counted_by_its_picture(tmp_path):
    """The file's length is its longest stream's: with 1.0 s of sound after 0.4 s of picture
    (10 fps), `info` and the progress bar expected ~10 frames of the 4."""
    path = tmp_path / "longer.mkv"
    with av.open(str(path), "w") as out:
        video = corpus._video(out, "libx264", (64, 48), "yuv420p", 10)
        sound = corpus._audio(out, "aac", 1.0)
        corpus._encode_video(out, video, corpus.frames(64, 48, 4))
        corpus._mux_audio(out, sound, 1.0)
    info = probe(path)
    assert info.frames == 0 and info.estimated_frames == 4 and info.duration_s == pytest.approx(0.4)
