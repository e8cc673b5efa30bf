"""Regenerates the README's screenshot: the real app, one question asked, its first source open.

    python -m ui.screenshot [--index DIR] [--out docs/screenshot.png]
    python -m ui.screenshot --pdf --out docs/page-view.png

Without `--index` the bundled article is indexed with the default model into a temporary
folder. `--pdf` prints the article to a PDF first (Chromium's own print, headings as headings),
indexes that, and shows the first source opened in the document view: the page with the quote
boxed beside the text. Needs Chromium at /usr/bin/chromium and Python Playwright (dev extra). A tool for
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
    parser.add_argument("--pdf", action="store_true", help="index the article printed to PDF; open the first source")
    args = parser.parse_args(argv)

    from playwright.sync_api import sync_playwright

    from assistant import Assistant, Settings
    from assistant.settings import DEFAULT_DOCUMENT
    from ui.app import build_app, launch

    with tempfile.TemporaryDirectory() as tmp:
        if args.index:
            assistant = Assistant.load(args.index, Settings.from_env())
        else:
            document = _printed(DEFAULT_DOCUMENT, Path(tmp) / "docs") if args.pdf else DEFAULT_DOCUMENT
            assistant = Assistant.from_paths([document], Path(tmp) / "index", Settings.from_env())
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
                if args.pdf:
                    page.locator("#ga-chat a.ga-open").first.click()
                    page.wait_for_function("() => { const i = document.querySelector('#ga-page img');"
                                           " return i && i.complete && i.naturalWidth > 0; }", timeout=60_000)
                    page.wait_for_timeout(800)
                args.out.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(args.out))
                browser.close()
        finally:
            demo.close(verbose=False)
    print(args.out)


def _printed(text_file: Path, folder: Path) -> Path:
    """`text_file` (title, then blank-line separated paragraphs; short lines without a full stop are
    headings) printed to a PDF by Chromium, as a reader would get it from a website."""
    import html

    from playwright.sync_api import sync_playwright

    blocks = [b.strip() for b in text_file.read_text(encoding="utf-8").split("\n\n") if b.strip()]
    body = [f"<h1>{html.escape(blocks[0])}</h1>"]
    for b in blocks[1:]:
        lines = [line.strip() for line in b.splitlines() if line.strip()]
        if all(line.startswith("•") for line in lines):
            body.append("<ul>" + "".join(f"<li>{html.escape(line.lstrip('• '))}</li>" for line in lines) + "</ul>")
            continue
        heading = len(b) < 80 and not b.rstrip().endswith((".", "?", "!", ":"))
        body.append(f"<h2>{html.escape(b)}</h2>" if heading else f"<p>{html.escape(b)}</p>")
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / (text_file.stem + ".pdf")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page()
        style = "body{font-family:serif;font-size:11pt;line-height:1.4}h1{font-size:20pt}h2{font-size:14pt}"
        page.set_content(f"<html><head><title>{html.escape(blocks[0])}</title><style>{style}</style></head>"
                         f"<body>{''.join(body)}</body></html>")
        page.pdf(path=str(out), format="A4", margin={"top": "2cm", "bottom": "2cm", "left": "2cm", "right": "2cm"})
        browser.close()
    return out


if __name__ == "__main__":
    main()
