"""Measures how well answers are grounded: the grounding benchmark (`assistant eval`).

Modules: `schema` (eval items and predictions), `metrics` (plain metric functions, latency
percentiles among them), `baseline` (naive dense top-k), `runner` (run systems, score, gate),
`report` (tables, Markdown, charts), `readme` (figures into the README between markers),
`cli` (the `eval` verb). Speed, scale, memory and load are `bench/`'s, which reads this
package's question set, percentiles and README writer. Nothing is imported here: the
`assistant` command loads `eval.cli` for every verb, so this package must stay free to import.
"""
