"""Shared by the reliability tests (`from reliability.helpers import ...`): the real `assistant`
command as a child process, and generated corpora whose questions have known, distinct answers.

Everything runs on loopback and under pytest's temporary folders; children get the
hashing model through `ASSISTANT_INDEX__MODEL` so they start fast and need no weights.
"""

from __future__ import annotations

import os
import random
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bench.harness import ASSISTANT

ROOT = Path(__file__).resolve().parents[2]
CLI = ASSISTANT  # the `assistant` command as a child process, as the bench and load tools start it

COLOURS = "red blue green amber violet silver golden black white orange crimson teal".split()
ANIMALS = "fox heron badger otter falcon lynx beaver marten stoat wren osprey hare".split()
PLACES = "Lyon Porto Ghent Tartu Bergen Split Cork Graz Turku Brno Gdansk Malmo".split()
FOODS = "acorns beetles clover minnows berries mice roots walnuts snails crickets barley moss".split()
FILLER = ("The survey team counted the animals at dawn. Weather was mild and the paths were dry. "
          "Volunteers wrote every sighting into the ledger. The ledger is kept at the town hall.")


def child_env(**extra: str) -> dict[str, str]:
    """The environment of a child `assistant`: offline, hashing model, no analytics, our own cache."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", GRADIO_ANALYTICS_ENABLED="False",
               ASSISTANT_INDEX__MODEL="hashing", PYTHONDONTWRITEBYTECODE="1")
    env.update(extra)
    return env


def run_cli(*args: str | os.PathLike, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """`assistant ARGS...` in a child process; returns the completed process (text output)."""
    return subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True, timeout=timeout,
                          env=env or child_env(), cwd=ROOT)


def one_line_error(proc: subprocess.CompletedProcess) -> str:
    """The single `error: ...` line a failed command must print on stderr (asserted), without a traceback."""
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: "), lines[0]
    return lines[0]


@dataclass(frozen=True)
class Fact:
    colour: str
    animal: str
    place: str
    food: str

    @property
    def question(self) -> str:
        return f"What does the {self.colour} {self.animal} of {self.place} eat?"


def make_corpus(folder: Path, n_docs: int, seed: int, paragraphs: int = 3) -> list[Fact]:
    """Write `n_docs` small text files, each with one fact (who eats what) among filler paragraphs.

    The same seed gives the same corpus; a different seed gives different foods, so the
    answers of the two corpora differ. Returns the facts, one per document.
    """
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    facts = []
    for i in range(n_docs):
        fact = Fact(COLOURS[i % 12], ANIMALS[(i // 12) % 12], PLACES[(i // 144) % 12], rng.choice(FOODS))
        facts.append(fact)
        body = [f"Field notes {i}", f"The {fact.colour} {fact.animal} of {fact.place} eats {fact.food} "
                f"every morning near the river."]
        for _ in range(paragraphs):
            sentences = FILLER.split(". ")
            rng.shuffle(sentences)
            body.append(". ".join(s.rstrip(".") for s in sentences) + ".")
        (folder / f"notes-{i:03d}.txt").write_text("\n\n".join(body) + "\n", encoding="utf-8")
    return facts


NETWORK_GUARD = '''
"""Loaded at interpreter start (PYTHONPATH): record and refuse any connection off this machine."""
import ipaddress, os, socket

_LOG = os.environ["NETWORK_GUARD_LOG"]


def _local(host):
    if host in ("localhost", "", "0.0.0.0", None):
        return True
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False


def _refuse(what):
    with open(_LOG, "a") as f:
        f.write(what + "\\n")
    raise OSError(101, "network blocked by the test: " + what)


_connect, _connect_ex, _getaddrinfo = socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo


def connect(self, address):
    if isinstance(address, tuple) and not _local(address[0]):
        _refuse(f"connect {address!r}")
    return _connect(self, address)


def connect_ex(self, address):
    if isinstance(address, tuple) and not _local(address[0]):
        _refuse(f"connect_ex {address!r}")
    return _connect_ex(self, address)


def getaddrinfo(host, *args, **kwargs):
    if not _local(host if not isinstance(host, bytes) else host.decode()):
        _refuse(f"getaddrinfo {host!r}")
    return _getaddrinfo(host, *args, **kwargs)


socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo = connect, connect_ex, getaddrinfo
'''


def network_guard(folder: Path, **extra: str) -> tuple[dict[str, str], Path]:
    """A child environment whose interpreter refuses (and logs) every connection off the machine.

    Returns the environment and the log file, which exists only if something tried to connect.
    """
    guard = folder / "network-guard"
    guard.mkdir(exist_ok=True)
    (guard / "sitecustomize.py").write_text(NETWORK_GUARD, encoding="utf-8")
    log = folder / "network-attempts.log"
    path = os.pathsep.join(p for p in (str(guard), os.environ.get("PYTHONPATH", "")) if p)
    return child_env(PYTHONPATH=path, NETWORK_GUARD_LOG=str(log), **extra), log
