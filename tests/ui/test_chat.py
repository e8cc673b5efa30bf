"""The chat's behaviour without a server: `respond`, the event handlers, `/ask`, index reloads."""

from __future__ import annotations

import threading

import gradio as gr
import pytest

from assistant import Assistant
from ui import render
from tests_helpers import rebuildable_index
from ui.app import INTERNAL_ERROR, AssistantHolder, Chat, examples_for

Q1 = "When did the Soviet Union collapse?"
Q2 = "What about Japan?"


class Spy:
    """An assistant that records what it is asked, and can fail on demand."""

    def __init__(self, inner: Assistant):
        self.inner = inner
        self.calls: list[tuple[str, list[str]]] = []
        self.answers = []
        self.fail: Exception | None = None
        self.scopes: list = []

    def ask(self, question, history=None, documents=None):
        self.calls.append((question, list(history or [])))
        self.scopes.append(documents)
        if self.fail is not None:
            exc, self.fail = self.fail, None
            raise exc
        answer = self.inner.ask(question, history, documents)
        self.answers.append(answer)
        return answer

    def __getattr__(self, name):  # index, info, title...: the real assistant's
        return getattr(self.inner, name)


@pytest.fixture
def spy(ui_assistant):
    return Spy(ui_assistant)


@pytest.fixture
def chat(spy):
    return Chat(AssistantHolder(lambda: spy, spy, check_every=float("inf")), stream_pause=0)


def last_reply(history: list[dict]) -> str:
    assert history[-1]["role"] == "assistant"
    return render.message_text(history[-1]["content"])


def test_respond_streams_the_answer_and_ends_with_it_and_its_sources(chat, spy):
    steps = list(chat.respond(Q1, []))
    assert steps[0][-2] == {"role": "user", "content": render.question_html(Q1)}
    assert "ga-pending" in last_reply(steps[0])
    answer = spy.answers[-1]
    assert not answer.abstained and answer.citations
    assert [last_reply(s) for s in steps[1:]] == list(render.answer_steps(answer))
    final = last_reply(steps[-1])
    assert final == render.answer_html(answer)
    assert "[1]" in final and "<mark>" in final


def test_no_document_ticked_is_one_plain_line_and_asks_nothing(chat, spy):
    from ui.app import NONE_CHOSEN

    asked = len(spy.answers)
    steps = list(chat.respond(Q1, [], documents=[]))
    assert NONE_CHOSEN in last_reply(steps[-1]) and "documents is empty" not in last_reply(steps[-1])
    assert len(spy.answers) == asked  # the assistant was not asked


def test_follow_ups_send_the_earlier_questions_from_the_chat_history(chat, spy):
    history = list(chat.respond(Q1, []))[-1]
    list(chat.respond(Q2, history))
    assert spy.calls[-1] == (Q2, [Q1])


def test_empty_input_does_nothing(chat, spy):
    for blank in ["", "   ", "\n\t"]:
        assert list(chat.on_submit(blank, [])) == [(gr.skip(), gr.skip())]
    assert spy.calls == []


def test_a_too_long_question_gets_a_clear_message_and_is_not_followed_up(chat, spy, ui_settings):
    limit = ui_settings.limits.max_question_chars
    history = list(chat.respond("why " * limit, []))[-1]
    reply = last_reply(history)
    assert render.NOTICE_CLASS in reply and "ga-refused" in reply
    assert f"the limit is {limit}" in reply
    list(chat.respond(Q1, history))
    assert spy.calls[-1] == (Q1, [])


def test_an_internal_error_shows_a_short_message_and_the_next_question_works(chat, spy, caplog):
    spy.fail = RuntimeError("secret detail /home/x/file.py line 3")
    history = list(chat.respond(Q1, []))[-1]
    reply = last_reply(history)
    assert INTERNAL_ERROR in reply
    assert "secret" not in reply and "Traceback" not in reply and "RuntimeError" not in reply
    assert "Traceback" in caplog.text or any(r.exc_info for r in caplog.records)  # the log keeps it
    history = list(chat.respond(Q2, history))[-1]
    assert "ga-answer" in last_reply(history)
    assert spy.calls[-1] == (Q2, [])  # the failed question is not a context for follow-ups


def test_submit_clears_and_locks_the_textbox_then_unlocks_it(chat):
    outputs = list(chat.on_submit(Q1, []))
    assert outputs[0][1] == gr.update(value="", interactive=False)
    assert outputs[-1] == (gr.skip(), gr.update(interactive=True))
    assert "ga-answer" in last_reply(outputs[-2][0])


def test_undo_removes_the_last_exchange_and_gives_the_question_back(chat):
    history = list(chat.respond(Q1, []))[-1]
    history = list(chat.respond(Q2, history))[-1]
    undone, box = chat.on_undo(history, gr.UndoData(None, {"index": 2, "value": Q2}))
    assert undone == history[:2]
    assert box == gr.update(value=Q2, interactive=True)


def test_retry_asks_the_same_question_again_with_the_same_history(chat, spy):
    history = list(chat.respond(Q1, []))[-1]
    history = list(chat.respond(Q2, history))[-1]
    outputs = list(chat.on_retry(history, None, gr.RetryData(None, {"index": 2, "value": Q2})))
    assert spy.calls[-1] == (Q2, [Q1])
    chat_after = outputs[-2][0]
    assert chat_after[:2] == history[:2] and len(chat_after) == 4


def test_ask_api_returns_the_python_api_payload(chat, ui_assistant):
    payload = chat.ask_api(Q2, [Q1])
    expected = ui_assistant.ask(Q2, [Q1]).model_dump(mode="json")
    payload.pop("timing"), expected.pop("timing")
    assert payload == expected


def test_ask_api_turns_errors_into_short_gradio_errors(chat, spy):
    with pytest.raises(gr.Error, match="the question is empty"):
        chat.ask_api("  ")
    spy.fail = RuntimeError("secret")
    with pytest.raises(gr.Error) as info:
        chat.ask_api(Q1)
    assert "secret" not in str(info.value.message)


def test_examples_fit_the_index(ui_assistant, xss_assistant):
    from ui.app import BUNDLED_EXAMPLES, GENERIC_EXAMPLES

    assert examples_for(ui_assistant.info()) == BUNDLED_EXAMPLES
    assert examples_for(xss_assistant.info()) == GENERIC_EXAMPLES
    assert len(BUNDLED_EXAMPLES) == 4  # which one the article cannot answer: test_integration.py


# ---------------------------------------------------------------- reloading a rebuilt index


@pytest.fixture
def rebuildable(tmp_path, ui_settings):
    """An index folder of one document, and a function that rebuilds it with a second one."""
    return rebuildable_index(tmp_path, ui_settings)


def test_a_rebuilt_index_is_picked_up_and_swapped_in(rebuildable, ui_settings):
    first, folder, rebuild = rebuildable
    holder = AssistantHolder(lambda: Assistant.load(folder, ui_settings), first)
    assert holder.refresh(timeout=60) is False  # nothing changed
    rebuild()
    assert holder.refresh(timeout=60) is True
    assert len(holder.info.documents) == 2
    assert holder.get().ask("What grows on trees?").passages


def test_without_a_loader_the_holder_reopens_through_the_library(rebuildable):
    first, folder, rebuild = rebuildable
    holder = AssistantHolder(assistant=first)
    assert holder.refresh(timeout=60) is False
    rebuild()
    assert holder.refresh(timeout=60) is True
    assert len(holder.info.documents) == 2 and holder.get().settings is first.settings


def test_the_old_index_answers_until_the_new_one_is_loaded(rebuildable, ui_settings):
    first, folder, rebuild = rebuildable
    release, started = threading.Event(), threading.Event()

    def slow_load():
        started.set()
        release.wait(60)
        return Assistant.load(folder, ui_settings)

    now = [0.0]
    holder = AssistantHolder(slow_load, first, check_every=1.0, clock=lambda: now[0])
    rebuild()
    assert holder.get() is first  # checked less than a second ago: not even looked at
    assert not started.is_set()
    now[0] = 1.0
    assert holder.get() is first  # noticed; loading in the background
    assert started.wait(10)
    assert holder.get() is first and holder.get().ask("What grows on trees?")  # still serving
    release.set()
    holder._loading.join(60)
    assert holder.get() is not first and len(holder.info.documents) == 2


def test_a_build_that_fails_to_load_keeps_the_old_one_and_is_not_retried(rebuildable):
    first, folder, rebuild = rebuildable
    attempts = []

    def broken_load():
        attempts.append(1)
        raise RuntimeError("model missing")

    holder = AssistantHolder(broken_load, first, check_every=0)
    rebuild()
    assert holder.refresh(timeout=60) is False
    assert holder.refresh(timeout=60) is False
    assert holder.get() is first and attempts == [1]


# ---------------------------------------------------------------- issue 25: the panel reads the served index


def _value(update):
    return update["value"] if isinstance(update, dict) else update


def test_the_panel_follows_a_rebuild_ticks_new_documents_and_keeps_what_was_unticked(rebuildable, ui_settings):
    first, folder, rebuild = rebuildable
    holder = AssistantHolder(lambda: Assistant.load(folder, ui_settings), first, check_every=0.0)
    chat = Chat(holder, stream_pause=0)
    info, scope, header, known = chat.on_load()[:4]
    assert _value(scope) == ["one.txt"] and known["ids"] == ["one.txt"]
    assert all(part is gr.skip() or part == gr.skip() for part in chat.on_tick(["one.txt"], known))  # unchanged
    rebuild()  # from the command line, while the page is open
    holder.refresh(timeout=60)
    info, scope, header, known2, examples = chat.on_tick(["one.txt"], known)
    assert _value(scope) == ["one.txt", "two.txt"] and "two.txt" in info and "2 documents" in header
    assert examples["examples"] == chat.examples_update()["examples"]  # the examples follow the new build too
    assert [c[1] for c in scope["choices"]] == ["one.txt", "two.txt"]
    # what the page had unticked stays unticked; a document it had not seen is ticked
    assert _value(chat.panel([], {"build": "old", "ids": ["one.txt"]})[1]) == ["two.txt"]
    assert _value(chat.panel([], known2)[1]) == []
    # a reload: whatever the folder holds, all ticked
    assert _value(chat.on_load()[1]) == ["one.txt", "two.txt"]


def test_title_description_and_examples_speak_of_the_documents_served(rebuildable, ui_settings, ui_assistant):
    from ui.app import BUNDLED_EXAMPLES, description_for, title_for

    first, folder, rebuild = rebuildable
    rebuild()
    info = Assistant.load(folder, ui_settings).info()
    assert title_for(info) == "2 documents: One, Two" and "these 2 documents" in description_for(info)
    assert examples_for(info, ["3. Financial Results", "Outlook"])[:2] == [
        "What does the document say about 3. Financial Results?", "What does the document say about Outlook?"]
    assert len(examples_for(info, [])) == 4 and examples_for(ui_assistant.info()) == BUNDLED_EXAMPLES
