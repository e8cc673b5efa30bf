"""Measures the assistant: the grounding benchmark (`assistant eval`) and the speed benchmark.

Modules: `schema` (eval items and predictions), `metrics` (plain metric functions),
`baseline` (naive dense top-k), `runner` (run systems, score, gate), `report` (tables,
Markdown, charts), `cli` (the `eval` verb). Nothing is imported here: the `assistant`
command loads `eval.cli` for every verb, so this package must stay free to import.
"""
