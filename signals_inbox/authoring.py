"""The authoring step behind one interface: `draft_outline(topic, signals) -> outline`.

The built-in generator writes a real, editable outline from the topic and the signals behind a
need (their types, payloads and sites). A text-generation backend can replace it by naming a class
with the same method in the `SIGNALS_OUTLINE_AUTHOR` setting.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Protocol, Sequence

from django.conf import settings
from django.utils.module_loading import import_string


@dataclass(frozen=True)
class SignalDigest:
    """What the author may know about one signal behind a need."""

    type: str
    site: str = ""
    category: str = ""
    severity: int = 2
    payload: Any = field(default_factory=dict)


class OutlineAuthor(Protocol):
    """Anything that drafts a course outline for a topic from the signals that asked for it."""

    def draft_outline(self, topic: str, signals: Sequence[SignalDigest]) -> dict[str, Any]: ...


# Per recognised signal type: a module that answers why the signal arrived.
_TYPE_MODULES: dict[str, tuple[str, list[str]]] = {
    "credential_expiring": (
        "Refresher: what has changed since you qualified",
        ["Recall the current requirements for {topic}", "Identify changes since the last certification", "Prepare for re-assessment before the credential lapses"],
    ),
    "credential_expired": (
        "Re-qualification: {topic}",
        ["Demonstrate the core competence required to work on {topic} tasks again", "Complete the assessment needed to restore the credential"],
    ),
    "incident": (
        "Learning from the incident",
        ["Describe what happened and its root causes", "Apply the controls that prevent a repeat", "Report near misses early"],
    ),
    "role_assigned": (
        "Ready for the new role",
        ["Explain the {topic} responsibilities the role carries", "Perform the role's key {topic} tasks safely"],
    ),
    "policy_updated": (
        "Policy briefing and acknowledgement",
        ["Summarise what the updated policy on {topic} requires", "Acknowledge the policy and where to find it"],
    ),
    "onboarding_gap": (
        "Onboarding: {topic}",
        ["Complete the {topic} onboarding step", "Know who to ask and where the procedures live"],
    ),
}


def _payload_facts(payload: Any, limit: int = 6) -> list[str]:
    """Return short `key: value` facts from a payload, for the author to work from."""
    if not isinstance(payload, dict):
        return [str(payload)[:120]] if payload not in (None, "", [], {}) else []
    facts = []
    for key, value in payload.items():
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            facts.append(f"{str(key)[:40]}: {str(value)[:80]}")
        if len(facts) >= limit:
            break
    return facts


def _signal_facts(signals: Sequence[SignalDigest]) -> list[str]:
    """The signals' payload facts, each once, in the order they came."""
    facts: list[str] = []
    for signal in signals:
        for fact in _payload_facts(signal.payload):
            if fact not in facts:
                facts.append(fact)
    return facts


def _type_module(topic: str, kind: str, facts: list[str]) -> dict[str, Any]:
    """The module of one signal type, with the case notes of the source records when there are any."""
    title, objectives = _TYPE_MODULES.get(
        kind, (f"Responding to {kind.replace('_', ' ')}", ["Explain what the {kind} signal means for your work"])
    )
    module: dict[str, Any] = {
        "title": title.format(topic=topic, kind=kind),
        "objectives": [o.format(topic=topic, kind=kind.replace("_", " ")) for o in objectives],
        "lessons": [{"title": f"{title.format(topic=topic, kind=kind)}: walkthrough", "type": "video"}],
    }
    if facts:
        module["lessons"].append({"title": "Case notes from the source records", "type": "case", "notes": facts[:6]})
    return module


class BuiltinOutlineAuthor:
    """Draft an outline from templates: an introduction, one module per signal type, practice and a quiz."""

    def draft_outline(self, topic: str, signals: Sequence[SignalDigest]) -> dict[str, Any]:
        types = Counter(s.type for s in signals)
        sites = sorted({s.site for s in signals if s.site})
        facts = _signal_facts(signals)
        severity = max((s.severity for s in signals), default=2)
        modules = [
            {
                "title": f"Introduction to {topic}",
                "objectives": [f"Explain why {topic} matters on our sites", f"Name the main hazards and rules of {topic}"],
                "lessons": [{"title": f"What {topic} covers", "type": "reading"}, {"title": "Key terms", "type": "reading"}],
            }
        ]
        modules.extend(_type_module(topic, kind, facts) for kind, _count in types.most_common())
        modules.append(
            {
                "title": f"{topic} in practice",
                "objectives": [f"Carry out {topic} tasks to the site standard", "Check your own work against the checklist"],
                "lessons": [{"title": "Practical checklist", "type": "activity"}],
            }
        )
        quiz = [
            {"question": f"What is the main purpose of {topic}?", "type": "multiple_choice", "options": ["", "", "", ""], "answer": None},
            {"question": f"Which hazard does {topic} control first?", "type": "multiple_choice", "options": ["", "", "", ""], "answer": None},
            {"question": f"True or false: {topic} rules apply to visitors on site.", "type": "true_false", "options": ["True", "False"], "answer": None},
            {"question": f"Describe one thing you will do differently after this course on {topic}.", "type": "short_answer", "answer": None},
        ]
        if "incident" in types:
            quiz.append({"question": "What should have stopped the incident described in this course?", "type": "short_answer", "answer": None})
        return {
            "title": f"{topic}" + (" refresher" if types.keys() & {"credential_expiring", "credential_expired"} else ""),
            "topic": topic,
            "summary": (
                f"Drafted from {len(signals)} signal(s) ({', '.join(sorted(types))})"
                + (f" at {', '.join(sites)}" if sites else "")
                + ". Edit every module before publishing."
            ),
            "audience": {"sites": sites, "signalTypes": sorted(types)},
            "priority": "blocking" if severity >= 4 else "soon" if severity == 3 else "normal",
            "modules": modules,
            "quiz": {"passMark": 80, "questions": quiz},
            "sourceFacts": facts[:20],
            "generator": "builtin",
        }


def outline_author() -> OutlineAuthor:
    """Return the configured authoring backend (the built-in generator unless a setting names another)."""
    dotted = settings.SIGNALS_OUTLINE_AUTHOR
    return import_string(dotted)() if dotted else BuiltinOutlineAuthor()
