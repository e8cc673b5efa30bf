"""The training recipe and which SQuAD articles are held out from it (stdlib only: `train.cli`
and the model card read them without loading torch)."""

# ---------------------------------------------------------------- settings

LAYERS = 6  # all of MiniLM's six: three read clearly worse (see the model card); fewer candidates keep it fast
MAX_TOKENS = 96  # question + sentence, truncated longest first
MAX_QUESTION_TOKENS = 40
EPOCHS = 2  # one leaves the loss still falling (0.41 over its last 50 steps)
BATCH = 32
LR = 6e-5
HEAD_LR = 1e-3
WARMUP = 0.06
SPAN_WEIGHT = 0.5
NEAREST = 4  # nearest-sentence negatives per question
SAME_PARAGRAPH = 1  # extra negatives from the answer's paragraph
SWAP_SHARE = 0.35  # share of answerable questions that also yield a swapped, unanswerable one
SYNTH_SHARE = {"facts": SWAP_SHARE, "squad": 0.5}  # the same with synth="squad" (every kind)
SEED = 13
# Calibration articles (the decision is fitted on them) and validation articles (the gate and
# the README's figures): neither is trained on.
CALIBRATION = ("The_Legend_of_Zelda:_Twilight_Princess", "IPod", "Computational_complexity_theory")
VALIDATION = ("Spectre_(2015_film)", "Solar_energy")
HELD_OUT = CALIBRATION + VALIDATION
# SQuAD 2.0 dev articles (../shared/data/validation/): calibrated on, never trained on, not even with --train-on.
DEV_ARTICLES = ("Computational_complexity_theory",)
# A binary input of the decision (a question flag, a missing kind of fact) is fitted only with at
# least this many answerable and unanswerable calibration questions for its rarer value, from more
# than one document; otherwise it is left out (a weight fitted on a handful of rows is noise).
MIN_SUPPORT_ROWS = 50
