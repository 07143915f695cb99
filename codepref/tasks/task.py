"""A benchmark problem as the loop samples it, and how sampled text becomes a program.

A `Task` is a HumanEval-style prompt whose completion is the function body (MBPP problems get a header built
from the reference's signature). Completion-style samples continue the prompt and are cut at the prompt's
stop sequences; chat-style answers are requests rendered with the tokenizer's chat template, and the code is
extracted from the answer, with the prompt's imports put in front.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from codepref.tasks import prompts
from codepref.tasks.extract import extract_code, truncate_at_stop
from codepref.tasks.problem import Problem


@dataclass
class Task:
    problem: Problem
    prompt: str
    key: str  # unique within the run: "SET:TASK_ID" for evaluation sets, the task id for training problems

    @property
    def entry_point(self) -> str:
        return self.problem.entry_point


def make_task(problem: Problem, set_label: str = "") -> Task:
    if problem.completion_extends_prompt:
        prompt = problem.prompt
    else:  # MBPP: a task sentence and asserts; build the header from the reference's signature
        example = problem.test_list[0] if problem.test_list else ""
        prompt = prompts.function_prompt(
            problem.entry_point, problem.canonical_solution, problem.description, example
        ) or prompts.mbpp_docstring_prompt(problem.description or problem.prompt, example)
    return Task(
        problem=problem, prompt=prompt, key=f"{set_label}:{problem.task_id}" if set_label else problem.task_id
    )


def solution_prompt(task: Task, style: str, tokenizer: Any, system: str | None) -> prompts.Prompt:
    if style == "chat":
        return prompts.chat_solution_prompt(task.prompt, task.entry_point, tokenizer, system)
    return prompts.solution_prompt(task.prompt, task.entry_point)


def test_prompt(task: Task, style: str, tokenizer: Any, system: str | None) -> prompts.Prompt:
    if style == "chat":
        return prompts.chat_codet_test_prompt(task.prompt, task.entry_point, tokenizer, system)
    return prompts.codet_test_prompt(task.prompt, task.entry_point)


def solution_parts(task: Task, style: str, text: str) -> tuple[str, str]:
    """(prefix, solution) with prefix + solution the program: the prompt and the completion cut at the
    prompt's stops, or, for a chat answer, the prompt's imports and the extracted code."""
    if style == "chat":
        return imports_of(task.prompt), extract_code(text, task.entry_point)
    body, _ = truncate_at_stop(text, prompts.solution_stops(task.prompt, task.entry_point))
    return task.prompt, body


def program(task: Task, style: str, text: str) -> str:
    prefix, solution = solution_parts(task, style, text)
    return prefix + solution


def imports_of(source: str) -> str:
    lines = [line for line in source.splitlines() if line.startswith(("import ", "from "))]
    return "".join(line + "\n" for line in lines) + ("\n" if lines else "")
