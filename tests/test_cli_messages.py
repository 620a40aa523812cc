"""What the command line prints when nobody watches a terminal: CI logs at 40 columns, long paths."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import yaml

from conftest import run_cli
from vidinpaint.synthetic import background, write_clip

MOTION = ["--set", "detect.backend=motion", "--set", "segment.backend=box"]


def long_folder(tmp_path: Path) -> Path:
    folder = tmp_path / ("a" * 70) / ("b" * 70)
    folder.mkdir(parents=True)
    return folder


def clip(path: Path, frames: int = 16) -> Path:
    bg = background(96, 64)
    write_clip(path, [np.roll(bg, 2 * i, axis=1) for i in range(frames)], fps=10)
    return path


def test_wrote_and_error_lines_are_whole_at_40_columns(tmp_path):
    folder = long_folder(tmp_path)
    src, out = clip(folder / "in.mp4"), folder / "out.mp4"
    done = run_cli("clean", str(src), "-o", str(out), *MOTION)
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert lines[-1].startswith(f"wrote {out}  (16 frames in "), done.stderr
    # No bar fragments: every other line is a stage line or a plain progress line.
    assert all(line.startswith("  ") for line in lines[:-1]), done.stderr
    progress = [line for line in lines if line.startswith("  working ")]
    assert progress and progress[-1].startswith("  working 16/16, "), done.stderr
    assert not any(ch in done.stderr for ch in "━─│╭")

    again = run_cli("clean", str(src), "-o", str(out), *MOTION)
    assert again.returncode == 1
    assert again.stderr.splitlines() == [f"error: output {out} exists; pass --overwrite to replace it"]


def test_quiet_prints_only_the_result(tmp_path):
    src = clip(tmp_path / "in.mp4", 4)
    done = run_cli("clean", str(src), "-q", *MOTION)
    assert done.returncode == 0 and len(done.stderr.splitlines()) == 1, done.stderr


def test_a_usage_error_is_one_error_line_not_a_boxed_panel(tmp_path):
    result = run_cli("clean", str(tmp_path / "x.mp4"), "--bogus")
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1, result.stderr  # Click's suggestion may follow the option
    assert result.stderr.startswith("error: No such option: --bogus") and "(see vidinpaint clean --help)" in result.stderr
    bad = run_cli("clean", str(tmp_path / "x.mp4"), "--crf", "abc")  # a value of the wrong type: one line too
    assert bad.returncode == 2 and len(bad.stderr.splitlines()) == 1
    assert bad.stderr.startswith("error: Invalid value for '--crf': "), bad.stderr
    bare = run_cli()  # no command at all: the help, as before
    assert "Usage:" in bare.stdout + bare.stderr
    assert not any(ch in result.stderr for ch in "─│╭")


def test_an_output_without_extension_is_named_with_what_to_do(tmp_path):
    src = clip(tmp_path / "in.mp4", 4)
    result = run_cli("clean", str(src), "-o", str(tmp_path / "noext"), *MOTION)
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == (f"error: output {tmp_path / 'noext'} has no file extension, so its "
                                              f"format is unknown; add one, e.g. {tmp_path / 'noext'}.mp4")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mp4"]


def test_an_unknown_format_error_names_the_output_not_the_temporary_file(tmp_path):
    src = clip(tmp_path / "in.mp4", 4)
    result = run_cli("clean", str(src), "-o", str(tmp_path / "out.xyz"), *MOTION)
    assert result.returncode == 1
    last = result.stderr.splitlines()[-1]
    assert last.startswith("error: ") and str(tmp_path / "out.xyz") in last and ".tmp" not in last, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mp4"]


def test_config_output_is_valid_yaml_at_40_columns(tmp_path):
    weights = tmp_path / ("long-folder-name-" * 6) / "[weights]"
    result = run_cli("config", "fast", "--set", f"weights_dir={weights}", "--set", "detect.classes=person,dog")
    assert result.returncode == 0, result.stderr
    loaded = yaml.safe_load(result.stdout)
    assert loaded["weights_dir"] == str(weights) and loaded["detect"]["classes"] == "person,dog"


def test_tables_are_whole_at_40_columns():
    """`config --options`, `weights list` and `info` print every cell whole, one row a line (rich
    tables cut them to the terminal: 'torch_thr…', 'na…')."""
    options = run_cli("config", "--options")
    weights = run_cli("weights", "list")
    environment = run_cli("info")
    for result in (options, weights, environment):
        assert result.returncode == 0 and "…" not in result.stdout, result.stdout
    assert any(line.split()[:2] == ["torch_threads", "0"] for line in options.stdout.splitlines())
    assert any(line.split()[:2] == ["nanodet", "detect"] for line in weights.stdout.splitlines())
    assert any(line.startswith("presets ") for line in environment.stdout.splitlines())


def test_config_options_show_what_a_preset_and_set_give():
    """`config --options fast --set detect.margin=abc` printed the built-in defaults, exit 0."""
    chosen = run_cli("config", "--options", "fast", "--set", "detect.margin=12")
    bad = run_cli("config", "--options", "--set", "detect.margin=abc")
    assert chosen.returncode == 0, chosen.stderr
    rows = {line.split()[0]: line.split()[1] for line in chosen.stdout.splitlines()[1:]}
    assert chosen.stdout.split()[:2] == ["option", "value"]
    assert (rows["detect.margin"], rows["detect.tiles"], rows["encode.preset"]) == ("12", "off", "ultrafast")
    assert bad.returncode == 1 and bad.stderr.strip() == "error: detect.margin: expected int, got 'abc'"


def test_report_on_a_file_that_is_no_job_log_is_a_one_line_error(tmp_path):
    video = clip(tmp_path / "in.mp4")
    tracks = tmp_path / "t.json"
    tracks.write_text('{"tracks": []}\n')
    for path, why in ((video, "not text"), (tracks, "no line of it is a job's entry")):
        result = run_cli("report", str(path))
        assert result.returncode == 1 and result.stderr == f"error: {path}: not a job log ({why})\n", result.stderr
    result = run_cli("report", str(tmp_path))  # a folder: the log in it, if it has one
    assert result.returncode == 1 and result.stderr == (
        f"error: {tmp_path}: a folder without a job log (vidinpaint-jobs.jsonl); give the log that "
        "`batch --log` wrote\n")


def test_starting_the_cli_does_not_load_torch():
    """torch takes seconds to import: `--help`, `info` and every error line would wait for it (the
    flow tools loaded it for RAFT, which now has a module of its own)."""
    import subprocess
    import sys

    code = "import sys, vidinpaint.cli; print('torch' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert done.stdout.strip() == "False", done.stderr


def _interrupted_while_loading(args: list[str], module: str) -> tuple[int, str]:
    """``vidinpaint ARGS`` sent SIGINT once ``module`` has loaded (``-X importtime`` prints a line
    as each module is loaded: however busy the machine, the signal comes during the imports);
    its exit status and stderr without the import lines."""
    import os
    import signal
    import subprocess
    import sys

    env = {**os.environ, "COLUMNS": "40"}
    proc = subprocess.Popen([sys.executable, "-X", "importtime", "-m", "vidinpaint", *args], env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = []
    for line in proc.stderr:
        lines.append(line)
        if line.split("|")[-1].strip() == module:
            proc.send_signal(signal.SIGINT)
            break
    _, rest = proc.communicate(timeout=120)
    said = [line for line in ("".join(lines) + rest).splitlines() if not line.startswith("import time:")]
    return proc.returncode, "\n".join(said)


def test_ctrl_c_while_the_command_line_loads_is_one_line(tmp_path):
    """Ctrl-C in the first second (the imports) was a KeyboardInterrupt traceback and a death by
    signal; later it was one line and exit 130. Now it is one line then too."""
    code, err = _interrupted_while_loading(["clean", str(tmp_path / "none.mp4")], "typer")
    assert "Traceback" not in err and code == 130, err
    assert err.strip().splitlines()[-1] == "error: interrupted by SIGINT; nothing was written", err


def test_ctrl_c_while_adapt_loads_torch_is_one_line(tmp_path):
    """`adapt` loads torch inside the command, before its work: a Ctrl-C then was turned into a
    silent exit 130 by the command-line library; now it is the same line as later."""
    code, err = _interrupted_while_loading(["adapt", str(tmp_path / "none.mp4")], "torch._C")
    assert code == 130 and "Traceback" not in err, err
    assert err.strip().splitlines()[-1:] == ["error: interrupted by SIGINT; what was not finished was not written "
                                             "(files finished before are kept)"], err  # it said nothing


def test_a_name_too_long_for_the_file_system_is_one_line_for_every_command(tmp_path):
    """An input, output, config, log or weights folder name over the file system's 255 bytes was
    an OSError traceback."""
    long = str(tmp_path / ("a" * 300))
    for args in (["clean", long + ".mp4"], ["info", long + ".mp4"], ["config", long + ".yaml"],
                 ["report", long + ".jsonl"], ["weights", "list", "--weights-dir", long]):
        done = run_cli(*args)
        assert done.returncode == 1 and "Traceback" not in done.stderr, (args, done.stderr)
        assert done.stderr.strip().endswith("the name is too long for the file system"), (args, done.stderr)


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full (a device whose writes fail: disk full)")
def test_output_to_a_full_disk_is_one_line():
    """`config > /dev/full` and `info > /dev/full` were an OSError traceback."""
    import subprocess
    import sys

    for args in (["config"], ["info"], ["config", "--options"]):
        with open("/dev/full", "w") as full:
            done = subprocess.run([sys.executable, "-m", "vidinpaint", *args], stdout=full, stderr=subprocess.PIPE,
                                  text=True, stdin=subprocess.DEVNULL, timeout=120)
        assert done.returncode == 1 and done.stderr == "error: cannot write the output: No space left on device\n", \
            (args, done.stderr)


def test_a_video_without_a_container_extension_gets_a_default_output_that_works(tmp_path):
    """`clean clip` (no extension) and `clean clip.h264` named their default outputs `clip.clean`
    and `clip.clean.h264`, which the writer then refused."""
    import corpus
    from conftest import decode_all

    raw = corpus.raw_h264(tmp_path / "raw.h264", 6)
    bare = tmp_path / "clip"
    bare.write_bytes(raw.read_bytes())
    fast = ("--set", "detect.backend=motion", "--set", "segment.backend=box")
    for src in (raw, bare):
        done = run_cli("clean", str(src), *fast, "-q")
        out = src.with_name(f"{src.stem}.clean.mkv")
        assert done.returncode == 0 and out.exists(), done.stderr
        assert len(decode_all(out)[0]) == 6
    done = run_cli("batch", str(raw), str(bare), "-o", str(tmp_path / "out"), *fast)  # the same names in a batch
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in (tmp_path / "out").glob("*.mkv")) == ["clip.mkv", "raw.mkv"]
