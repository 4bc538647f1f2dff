"""A course outline edited as modules, lessons and a quiz in the console, not as raw JSON.

The outline stays the JSON the API and the authoring step use (`modules`, `quiz`, and whatever
else a draft carries, kept as it is). A module is edited as a title, its objectives (one per
line) and its lessons (one per line, `type: title`); the quiz as a pass mark and its questions.
A lesson's other keys (case notes) stay with the lesson of the same title.
"""
from __future__ import annotations

from typing import Any

from django import forms

LESSON_TYPES = ("reading", "video", "case", "activity", "quiz", "discussion")
QUESTION_TYPES = [("multiple_choice", "Multiple choice"), ("true_false", "True or false"), ("short_answer", "Short answer")]
MAX_MODULES = 50
MAX_QUESTIONS = 100


def _lines(text: str) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


class ModuleForm(forms.Form):
    title = forms.CharField(max_length=200, required=False, widget=forms.TextInput(attrs={"size": 60}))
    objectives = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3, "cols": 70}), help_text="One per line")
    lessons = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 70}),
        help_text=f"One per line as “type: title”; types: {', '.join(LESSON_TYPES)}",
    )

    def clean_lessons(self) -> list[dict[str, str]]:
        lessons = []
        for line in _lines(self.cleaned_data.get("lessons", "")):
            kind, sep, title = line.partition(":")
            if sep and kind.strip().lower() in LESSON_TYPES and title.strip():
                lessons.append({"title": title.strip()[:200], "type": kind.strip().lower()})
            else:
                lessons.append({"title": line[:200], "type": "reading"})
        return lessons


class QuestionForm(forms.Form):
    question = forms.CharField(max_length=500, required=False, widget=forms.TextInput(attrs={"size": 70}))
    type = forms.ChoiceField(choices=QUESTION_TYPES, initial="multiple_choice")
    options = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 4, "cols": 40}), help_text="One per line")
    answer = forms.CharField(max_length=500, required=False, help_text="The right option, word for word (or a model answer)")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        options = _lines(cleaned.get("options", ""))
        answer = (cleaned.get("answer") or "").strip()
        # A draft may leave options for later (the authoring step writes them blank); publishing asks for them.
        if cleaned.get("question") and cleaned.get("type") in ("multiple_choice", "true_false") and options and answer and answer not in options:
            self.add_error("answer", "The answer must be one of the options")
        cleaned["options"] = options
        cleaned["answer"] = answer or None
        return cleaned


ModuleFormSet = forms.formset_factory(ModuleForm, extra=1, can_delete=True, max_num=MAX_MODULES, validate_max=True)
QuestionFormSet = forms.formset_factory(QuestionForm, extra=1, can_delete=True, max_num=MAX_QUESTIONS, validate_max=True)


class OutlineHeadForm(forms.Form):
    summary = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3, "cols": 90}))
    pass_mark = forms.IntegerField(min_value=0, max_value=100, initial=80, label="Quiz pass mark (%)")


def outline_initial(outline: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    """Return the initial data of the head form, the module forms and the question forms."""
    outline = outline if isinstance(outline, dict) else {}
    quiz: dict[str, Any] = outline["quiz"] if isinstance(outline.get("quiz"), dict) else {}
    head = {"summary": outline.get("summary") or "", "pass_mark": quiz.get("passMark", 80)}
    modules = []
    for module in outline.get("modules") or []:
        if not isinstance(module, dict):
            continue
        lessons = [lesson for lesson in module.get("lessons") or [] if isinstance(lesson, dict)]
        modules.append({
            "title": module.get("title") or "",
            "objectives": "\n".join(str(o) for o in module.get("objectives") or []),
            "lessons": "\n".join(f"{lesson.get('type') or 'reading'}: {lesson.get('title') or ''}" for lesson in lessons),
        })  # fmt: skip
    questions = []
    for question in quiz.get("questions") or []:
        if not isinstance(question, dict):
            continue
        questions.append({
            "question": question.get("question") or "",
            "type": question.get("type") or "multiple_choice",
            "options": "\n".join(str(o) for o in question.get("options") or [] if str(o).strip()),
            "answer": question.get("answer") or "",
        })  # fmt: skip
    return head, modules, questions


def outline_from_forms(previous: dict[str, Any], head: OutlineHeadForm, modules: Any, questions: Any) -> dict[str, Any]:
    """Return the outline the valid forms describe; keys the forms do not edit are kept as they were."""
    previous = previous if isinstance(previous, dict) else {}
    old_lessons: dict[str, dict[str, Any]] = {}
    for module in previous.get("modules") or []:
        for lesson in (module or {}).get("lessons") or [] if isinstance(module, dict) else []:
            if isinstance(lesson, dict) and lesson.get("title"):
                old_lessons.setdefault(str(lesson["title"]), lesson)
    new_modules = []
    for form in modules.forms:
        data = form.cleaned_data
        if not data or data.get("DELETE") or not (data.get("title") or data.get("lessons")):
            continue
        # A lesson keeps what the form does not edit (its case notes) by its title.
        lessons = [{**old_lessons.get(lesson["title"], {}), **lesson} for lesson in data["lessons"]]
        new_modules.append({"title": data.get("title") or "Untitled module", "objectives": _lines(data.get("objectives", "")), "lessons": lessons})
    new_questions = []
    for form in questions.forms:
        data = form.cleaned_data
        if not data or data.get("DELETE") or not data.get("question"):
            continue
        question: dict[str, Any] = {"question": data["question"], "type": data["type"], "answer": data["answer"]}
        if data["type"] != "short_answer":
            question["options"] = data["options"]
        new_questions.append(question)
    quiz: dict[str, Any] = dict(previous["quiz"]) if isinstance(previous.get("quiz"), dict) else {}
    quiz.update({"passMark": head.cleaned_data["pass_mark"], "questions": new_questions})
    return {**previous, "summary": head.cleaned_data.get("summary") or "", "modules": new_modules, "quiz": quiz}


def unready_questions(outline: dict[str, Any]) -> list[int]:
    """Return the numbers (from 1) of quiz questions not ready to publish: a choice without two options."""
    quiz: dict[str, Any] = outline["quiz"] if isinstance(outline, dict) and isinstance(outline.get("quiz"), dict) else {}
    unready = []
    for number, question in enumerate(quiz.get("questions") or [], start=1):
        if isinstance(question, dict) and question.get("type") in ("multiple_choice", "true_false"):
            if len([o for o in question.get("options") or [] if str(o).strip()]) < 2:
                unready.append(number)
    return unready
