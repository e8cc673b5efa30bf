"""`kill -9` of `assistant index build` at random moments never loses the live index.

A real child process builds a 200-document corpus into an index that already holds
another corpus, and is killed with SIGKILL after a seeded random delay. After every
kill the index must load with every checksum verified, and answer a fixed set of
questions exactly as a clean build of either the old or the new corpus does: never
a mix, never an error.
"""

from __future__ import annotations

import random
import signal
import subprocess
import time

import pytest

from assistant import Assistant
from index import load_index
from reliability.helpers import CLI, ROOT, child_env, make_corpus, run_cli

pytestmark = pytest.mark.slow

TRIALS = 24
DOCS = 200


def answers(folder, settings, questions) -> list[dict]:
    a = Assistant.load(folder, settings)
    return [a.ask(q).model_dump(mode="json", exclude={"timing"}) for q in questions]


def test_kill_9_during_build_keeps_the_previous_index_loadable_and_answering_the_same(tmp_path, hashing_settings):
    corpora = {"A": tmp_path / "corpus-a", "B": tmp_path / "corpus-b"}
    facts_a = make_corpus(corpora["A"], DOCS, seed=1)
    facts_b = make_corpus(corpora["B"], DOCS, seed=2)
    assert sum(fa.food != fb.food for fa, fb in zip(facts_a, facts_b)) > DOCS // 2
    # Questions whose answers tell the corpora apart, one that both answer alike, one off topic.
    changed = [fa.question for fa, fb in zip(facts_a, facts_b) if fa.food != fb.food]
    questions = changed[:4] + ["Where is the ledger kept?", "What is the capital of Peru?"]

    expected = {}
    for name, corpus in corpora.items():
        ref = tmp_path / f"reference-{name}"
        assert run_cli("index", "build", corpus, "--out", ref).returncode == 0
        expected[name] = answers(ref, hashing_settings, questions)
    assert expected["A"][:4] != expected["B"][:4]
    assert not any(a["abstained"] for a in expected["A"][:4])

    live = tmp_path / "index"
    assert run_cli("index", "build", corpora["A"], "--out", live).returncode == 0
    state = ("A", load_index(live).manifest.build_id)

    # How long a build of the other corpus over this index takes, to spread the kills over it.
    t0 = time.perf_counter()
    assert run_cli("index", "build", corpora["B"], "--out", tmp_path / "timing").returncode == 0
    duration = time.perf_counter() - t0

    rng = random.Random(20240607)
    killed_mid_build = completed = 0
    for trial in range(TRIALS):
        target = "B" if state[0] == "A" else "A"
        # Half the kills anywhere in the run, half near its end, where files are written and swapped.
        delay = rng.uniform(0.0, duration) if trial % 2 == 0 else rng.uniform(0.75 * duration, 1.1 * duration)
        child = subprocess.Popen([*CLI, "index", "build", str(corpora[target]), "--out", str(live)], cwd=ROOT,
                                 env=child_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        started = time.perf_counter()
        while child.poll() is None and time.perf_counter() - started < delay:
            time.sleep(0.005)
        was_running = child.poll() is None
        if not was_running:  # it finished first: builds run faster now than timed, so aim the next kills earlier
            duration = time.perf_counter() - started
        child.send_signal(signal.SIGKILL)
        child.wait(30)
        killed_mid_build += was_running and child.returncode == -signal.SIGKILL

        index = load_index(live, verify=True)  # raises CorruptIndex if anything is half-written
        build_id = index.manifest.build_id
        if build_id == state[1]:
            now = state[0]
        else:
            now = target
            completed += 1
            assert {d.path for d in index.manifest.documents} == {str(p.resolve()) for p in corpora[target].iterdir()}
        got = answers(live, hashing_settings, questions)
        assert got == expected[now], f"trial {trial}: delay {delay:.2f}s, live build {build_id} ({now})"
        state = (now, build_id)

    assert killed_mid_build >= TRIALS * 2 // 3, (killed_mid_build, completed)
    # A later build completes, cleans up what the killed ones left, and keeps at most two builds.
    assert run_cli("index", "build", corpora["A"], "--out", live).returncode == 0
    assert answers(live, hashing_settings, questions) == expected["A"]
    leftovers = sorted(p.name for p in live.iterdir() if p.name.startswith(".tmp-"))
    builds = [p for p in live.iterdir() if p.is_dir() and not p.name.startswith(".")]
    assert leftovers == [] and len(builds) <= 2
    print(f"\nkill -9 trials: {TRIALS}, killed mid-build: {killed_mid_build}, completed before the kill: {completed}, "
          f"build time {duration:.2f}s, index lost: 0")


def test_two_builds_at_once_never_mix_one_waits_its_turn_or_is_refused_in_one_line(tmp_path, hashing_settings):
    corpora = [tmp_path / "corpus-a", tmp_path / "corpus-b"]
    facts = [make_corpus(corpora[0], 60, seed=1), make_corpus(corpora[1], 60, seed=2)]
    live = tmp_path / "index"
    children = [subprocess.Popen([*CLI, "index", "build", str(c), "--out", str(live)], cwd=ROOT, env=child_env(),
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for c in corpora]
    results = [(child.wait(120), *child.communicate()) for child in children]
    ok = [i for i, (code, _, _) in enumerate(results) if code == 0]
    assert ok, results
    for code, _, err in results:
        if code != 0:
            lines = [line for line in err.splitlines() if line.strip()]
            assert code == 1 and len(lines) == 1 and "another build" in lines[0], err
    index = load_index(live, verify=True)
    winner = [i for i in range(2) if {d.path for d in index.manifest.documents}
              == {str(p.resolve()) for p in corpora[i].iterdir()}]
    assert len(winner) == 1 and winner[0] in ok
    answer = Assistant.load(live, hashing_settings).ask(facts[winner[0]][5].question)
    assert facts[winner[0]][5].food in answer.citations[0].quote
