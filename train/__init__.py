"""Training the answer judge, a stage of its own beside `eval/` and `bench/`: nothing in
`assistant/` imports it, and torch is imported here only. The `assistant judge train` and
`assistant judge calibrate` verbs come from `train.cli` through the `assistant.commands` entry
points.

The judge is a small cross-encoder that reads (question, sentence) and says whether the sentence
answers the question. Read in this order: `settings` (the recipe's constants and the held-out
articles), `data` (SQuAD 2.0 training articles and the eval's dev split, turned into
question-sentence pairs with hard negatives), `model` (the bundled MiniLM's first layers with two
small heads, the loop, and the weights written atomically with their sha256), `calibrate` (the
answer/decline decision fitted on the calibration articles), `card` (the model card beside the
weights). One seed makes a run reproducible on the CPU.

Left out: SQuAD dev data (never trained on; the dev article in ../shared/data/validation/ is a
calibration document only), articles kept for calibration and validation
(`HELD_OUT`), GPU code paths (this runs on two CPU cores), and any update of the word
embeddings (they stay the bundled model's, so the shipped file does not repeat them).
"""
