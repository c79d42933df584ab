"""SAGE with an LLM backend: the judge (the simulated person scores each supporter reply) and a short live
session (person and supporter both simulated), both through the conductor's own backend (``chat()`` of the
openai and transformers conductors).

The judge follows SAGE's rules (../shared/scenes/sage_en/README.md): start at 40, one integer change per reply,
clamped to [-10, +10]. A reply with no readable integer, or a backend that fails, is scored by the offline
scorer instead and the entry says so (``source: "offline"`` with the reason), so a flaky endpoint never
stops a session; a backend that cannot be reached at all is still one clear error line from the planner.
"""

from __future__ import annotations

import logging
import re
from typing import Any, Callable

from baton.dialogue.messages import clean_speech, has_words
from baton.dialogue.sage_scorer import band, clamp_change, features, load_scorer
from baton.dialogue.scenes import SAGE_START_SCORE, Character, Line, Scene, SceneError

LOGGER = logging.getLogger("baton.dialogue")
Chat = Callable[[list[dict[str, str]], int], str]
_INTEGER = re.compile(r"[-+]?\d{1,3}")
MAX_WORDS = 40
"""Simulated turns are cut to this many words (small local models ramble; the voice renders every word)."""


def chat_of(conductor: Any) -> Chat:
    """The backend's plain chat function. Raises SceneError for the embedded conductor (no LLM)."""
    chat = getattr(conductor, "chat", None)
    if chat is None:
        raise SceneError(f"the {getattr(conductor, 'name', 'embedded')} conductor has no language model; the SAGE "
                         "judge and live sessions need --conductor openai or --conductor transformers")
    return lambda messages, max_tokens: chat(messages, max_tokens)


def _short(text: str, limit: int) -> str:
    return " ".join(str(text).split())[:limit]


def judge_messages(person: Character, task: str | None, score: float, user_turn: str, reply: str) -> list[dict[str, str]]:
    system = (f"You play this person in a conversation: {_short(person.profile, 500)}\n"
              f"Your hidden need (never said aloud): {_short(task or 'to feel understood', 200)}\n"
              f"Your emotion score is {score:g} out of 100. After each reply of the other person you judge how much "
              "it served your hidden need and answer with ONE integer from -10 to 10: the change of your emotion "
              "score. Answer with the number only.")
    return [{"role": "system", "content": system},
            {"role": "user", "content": f"You said: {_short(user_turn, 400)}\nThey replied: {_short(reply, 600)}\n"
                                        "Change (an integer from -10 to 10):"}]


def parse_change(text: str) -> int | None:
    match = _INTEGER.search(text or "")
    if not match:
        return None
    return int(clamp_change(int(match.group(0))))


def judge_scene(conductor: Any, scene: Scene, chat: Chat | None = None) -> dict[str, Any]:
    """SAGE judge over a scene's supporter replies (see the module docstring)."""
    chat = chat or chat_of(conductor)
    person = next(c for c in scene.characters if c.role == "person")
    scorer = load_scorer()
    score, entries, last_user, replies = SAGE_START_SCORE, [], "", []
    for line in scene.lines:
        if line.speaker == person.name:
            last_user = line.speech
            continue
        if not line.speech:
            continue
        entry = judge_reply(chat, person, scene.task, score, last_user, line.speech, replies, scorer)
        entry["line"] = line.index
        score = min(100.0, max(0.0, score + entry["change"]))
        entry["score"] = score
        entries.append(entry)
        replies.append(line.speech)
        if score >= 100 or score < 10:
            break
    return {"backend": getattr(conductor, "name", "llm"), "changes": [e["change"] for e in entries],
            "sources": [e["source"] for e in entries], "entries": entries, "final": score, "band": band(score)}


def judge_reply(chat: Chat, person: Character, task: str | None, score: float, user_turn: str, reply: str,
                earlier: list[str], scorer: Any = None) -> dict[str, Any]:
    """One judged reply: {'change', 'source': 'llm' | 'offline', 'raw', 'reason'?}."""
    from baton.conductors import ConductorError

    raw, reason = "", None
    try:
        raw = chat(judge_messages(person, task, score, user_turn, reply), 8)
        change = parse_change(raw)
        if change is None:
            reason = f"no integer in the judge's answer {raw[:60]!r}"
    except ConductorError as err:
        change, reason = None, " ".join(str(err).split())
    if change is not None:
        return {"change": change, "source": "llm", "raw": raw}
    scorer = scorer or load_scorer()
    predicted = float(scorer.predict(features(reply, user_turn, earlier, person.persona, task))[0])
    LOGGER.warning("warning: SAGE judge: %s; using the offline scorer's change (%+.0f)", reason, predicted)
    return {"change": int(round(predicted)), "source": "offline", "raw": raw, "reason": reason}


def _turn(chat: Chat, system: str, history: list[tuple[str, str]], me: str, fallback: str) -> str:
    messages = [{"role": "system", "content": system}]
    for speaker, text in history[-6:]:
        messages.append({"role": "assistant" if speaker == me else "user", "content": text})
    try:
        raw = chat(messages, 64)  # about MAX_WORDS words
    except Exception as err:  # a failing backend turn: the session continues with a fixed line, noted
        LOGGER.warning("warning: SAGE live session: %s; using a fixed line", " ".join(str(err).split())[:200])
        raw = ""
    text = clean_speech(raw.split("\n\n")[0])
    words = text.split()
    if len(words) > MAX_WORDS:
        text = " ".join(words[:MAX_WORDS]).rstrip(",;:") + "."
    return text if has_words(text) else fallback


def live_session(conductor: Any, profile: dict[str, Any], turns: int = 3, chat: Chat | None = None,
                 source: str = "profile") -> Scene:
    """Simulate a short SAGE session from a persona ``profile`` (profiles.en.jsonl): the person opens with
    ``first_talk``; then ``turns`` times the supporter replies, the judge scores the reply, and the person
    answers in the mood of the new score. Returns a SAGE :class:`Scene` (rendered like a labelled one)."""
    if turns < 1:
        raise SceneError("a live SAGE session needs at least 1 turn (--turns)")
    chat = chat or chat_of(conductor)
    from baton.dialogue.scenes import _NAME  # the persona sheet's name field

    match = _NAME.search(profile["player"])
    name = match.group(1).strip() if match else "Person"
    persona = profile.get("main_cha")
    person = Character(name, profile["player"], str(profile.get("task", "")), role="person",
                       persona=str(persona) if persona else None)
    supporter_system = ("You are a warm, attentive listener. Reply to the person in two short spoken sentences: "
                        "reflect their feeling and ask one gentle question. No lists, no emoji.")
    score = SAGE_START_SCORE
    history: list[tuple[str, str]] = [(name, clean_speech(profile["first_talk"]))]
    lines = [Line(0, name, profile["first_talk"], history[0][1], emotion_point=score)]
    scorer = load_scorer()
    replies: list[str] = []
    for _ in range(turns):
        reply = _turn(chat, supporter_system, history, "Supporter", "That sounds really hard. What weighs on you most?")
        history.append(("Supporter", reply))
        lines.append(Line(len(lines), "Supporter", reply, reply))
        judged = judge_reply(chat, person, profile.get("task"), score, history[-2][1], reply, replies, scorer)
        replies.append(reply)
        score = min(100.0, max(0.0, score + judged["change"]))
        mood = ("you feel much better and warmer" if score >= 70 else "you are still upset" if score >= 40
                else "you are frustrated and low")
        person_system = (f"You are this person: {_short(profile['player'], 400)}\nSituation: {_short(profile.get('scene', ''), 300)}\n"
                         f"Your emotion score is {score:g}/100: {mood}. Answer in one or two short spoken sentences.")
        said = _turn(chat, person_system, history, name, "I don't know. It still feels heavy." if score < 50
                     else "Thanks, that actually helps a little.")
        history.append((name, said))
        lines.append(Line(len(lines), name, said, said, emotion_point=score))
        if score >= 100 or score < 10:
            break
    return Scene("sage", f"live SAGE session: {name}", _short(profile.get("scene", ""), 600),
                 (person, Character("Supporter", role="supporter")), tuple(lines), source,
                 task=profile.get("task") or None,
                 notes=(f"simulated live with the {getattr(conductor, 'name', 'llm')} conductor's model; the person's "
                        "emotion scores come from its SAGE judge (offline scorer where the judge gave no number)",))


__all__ = ["judge_scene", "judge_reply", "live_session", "parse_change", "chat_of", "judge_messages"]
