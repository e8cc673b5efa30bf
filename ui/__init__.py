"""The chat in the browser and the REST API: `assistant serve`.

- `ui.render`: pure functions turning an `Answer` into the chat's HTML (escaped, highlighted).
- `ui.app`: the Gradio app (`build_app`, `launch`, which serves it with the REST API on one
  FastAPI server), `Chat.respond` and the `/ask` endpoint.
- `ui.rest`: the REST API at `/v1` (`build_api`) and `/healthz`.
- `ui.holder`: `AssistantHolder`, which swaps in a rebuilt index while the server runs.
- `ui.cli`: the `serve` verb (stdlib and typer only at import time).
- `ui.screenshot`: regenerates docs/screenshot.png.

Nothing is imported here, so `import ui.cli` does not load Gradio.
"""
