"""The chat in the browser: `assistant serve`.

- `ui.render`: pure functions turning an `Answer` into the chat's HTML (escaped, highlighted).
- `ui.app`: the Gradio app (`build_app`, `launch`), `Chat.respond`, the `/ask` endpoint,
  and `AssistantHolder`, which swaps in a rebuilt index while the server runs.
- `ui.cli`: the `serve` verb (stdlib and typer only at import time).
- `ui.screenshot`: regenerates docs/screenshot.png.

Nothing is imported here, so `import ui.cli` does not load Gradio.
"""
