"""Measures how fast, how big and how steady the assistant is: `assistant bench` and `assistant load`.

Modules: `harness` (what the tools share: a free port, the `assistant serve` child, one
`/ask` client, the result line of a measuring child), `run` (the bench's parts and its run,
with `Options`), `report` (figures, targets, tables), `worker` (our side, one measurement
per child process), `peer` (the LangChain recipe we compare with, run as a script), `scale`
(FAISS index types on synthetic and real vectors), `load` (many clients through `/ask`,
every answer checked), `cli` (the `bench` verb). How well answers are grounded is `eval/`'s
business, not this package's; the bench reads eval's question set and its README writer.
Nothing is imported here: the `assistant` command loads `bench.cli` and `bench.load` for
every verb, so this package must stay free to import.
"""
