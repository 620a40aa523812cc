#!/usr/bin/env python3
"""Screenshot of the review page for the docs: `vidinpaint ui` on the sample clip, in Debian's chromium.

Starts the real server, waits for the track listing, scrubs to a frame, keeps one track (so the
page shows both states), previews that frame with the real pipeline and saves the page.

Usage: python scripts/ui_screenshot.py [--clip samples/vtest.mp4] [--frame 60] [--out docs/figures/ui_review.png]
       [--set KEY=VALUE ...]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clip", type=Path, default=ROOT / "samples" / "vtest.mp4")
    parser.add_argument("--frame", type=int, default=60)
    parser.add_argument("--context", type=int, default=3, help="frames either side for the preview")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "figures" / "ui_review.png")
    parser.add_argument("--set", dest="sets", action="append", default=[])
    args = parser.parse_args()
    chromium = shutil.which("chromium")
    if chromium is None:
        raise SystemExit("needs Debian's chromium package (apt-get install chromium)")
    command = [sys.executable, "-m", "vidinpaint", "ui", str(args.clip), "--port", "0"]
    command += [word for s in args.sets for word in ("--set", s)]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                              stdin=subprocess.DEVNULL)
    try:
        url = next(line.split("review page: ", 1)[1].split()[0] for line in server.stderr if "review page: " in line)
        print(f"serving {url}")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium)
            page = browser.new_page(viewport={"width": 1500, "height": 1000})
            page.set_default_timeout(900_000)
            page.goto(url)
            page.wait_for_function("/^\\d+ tracks$/.test(document.getElementById('listing').textContent)")
            page.eval_on_selector("#scrub", "(el, v) => { el.value = v; el.dispatchEvent(new Event('input')); }",
                                  args.frame)
            page.wait_for_selector(f"#overlay[data-frame='{args.frame}'] rect.track")
            kept = page.query_selector_all("#overlay rect.track")[0].get_attribute("data-id")
            page.click(f"#tracks button[data-id='{kept}']")
            page.wait_for_selector(f"#overlay rect.track.keep[data-id='{kept}']")
            page.fill("#context", str(args.context))
            page.click("#preview")
            page.wait_for_function("document.getElementById('preview-status').textContent.startsWith('frame') "
                                   "|| document.getElementById('error').textContent !== ''")
            if page.inner_text("#error"):
                raise SystemExit(f"the page says: {page.inner_text('#error')}")
            page.wait_for_selector("#tracks tr.here")
            args.out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(args.out), full_page=True)
            print(f"kept track {kept}; wrote {args.out}")
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
