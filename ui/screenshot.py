"""Regenerates the README's screenshot: the real app, one question asked, its first source open.

    python -m ui.screenshot [--index DIR] [--out docs/screenshot.png]

Without `--index` the bundled article is indexed with the default model into a temporary
folder. Needs Chromium at /usr/bin/chromium and Python Playwright (dev extra). A tool for
maintainers, not part of the app.
"""

from __future__ import annotations

import argparse
import socket
import tempfile
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
QUESTION = "What does North Korea hope to get from Russia in return for its support?"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, help="index folder (default: the bundled article, built in a temp dir)")
    parser.add_argument("--out", type=Path, default=Path("docs/screenshot.png"))
    parser.add_argument("--question", default=QUESTION)
    args = parser.parse_args(argv)

    from playwright.sync_api import sync_playwright

    from assistant import Assistant, Settings
    from assistant.settings import DEFAULT_DOCUMENT
    from ui.app import build_app, launch

    with tempfile.TemporaryDirectory() as tmp:
        if args.index:
            assistant = Assistant.load(args.index, Settings.from_env())
        else:
            assistant = Assistant.from_paths([DEFAULT_DOCUMENT], Path(tmp) / "index", Settings.from_env())
        demo = build_app(assistant, uploads=not args.index)  # the documents panel, on a throwaway index only
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        url = launch(demo, port=port)
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                            args=["--no-sandbox", "--disable-gpu", "--no-first-run"])
                page = browser.new_page(viewport={"width": 1280, "height": 860}, device_scale_factor=1)
                page.goto(url)
                page.wait_for_selector("#ga-info .ga-info")
                page.fill("#ga-input textarea", args.question)
                page.keyboard.press("Enter")
                page.wait_for_selector("#ga-chat .ga-sources", timeout=120_000)
                page.wait_for_function("() => !document.querySelector('#ga-input textarea').disabled")
                page.locator("#ga-chat a.ga-marker").first.click()
                page.wait_for_timeout(1800)  # past the marker's flash
                args.out.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(args.out))
                browser.close()
        finally:
            demo.close(verbose=False)
    print(args.out)


if __name__ == "__main__":
    main()
