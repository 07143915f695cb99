"""A benchmark problem as the loop samples it, and how sampled text becomes a program.

A `Task` is a HumanEval-style prompt whose completion is the function body (MBPP problems get a header built
from the reference's signature). Completion-style samples continue the prompt and are cut at the prompt's
stop sequences; chat-style answers are requests rendered with the tokenizer's chat template, and the code is
extracted from the answer, with the prompt's imports put in front.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from codepref.data import Problem
from codepref.generate import PromptRecord, prompts
from codepref.generate.extract import extract_code, truncate_at_stop
from codepref.matrix import DEFAULT_EXAMPLE_WEIGHT, MatrixProblem, prompt_example_tests, with_example_tests
from codepref.pairs import ChatSamples


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
        ) or prompts.mbpp_prompt(problem.description or problem.prompt, example)
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


def prompt_records(tasks: list[Task], rendered: dict[str, prompts.Prompt]) -> list[PromptRecord]:
    return [
        PromptRecord(
            key=t.key,
            prompt=rendered[t.key].text,
            stop=rendered[t.key].stop,
            meta={"task_id": t.problem.task_id, "entry_point": t.entry_point},
        )
        for t in tasks
    ]


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


def matrix_problem(
    task: Task,
    style: str,
    solutions: dict[str, Any],
    tests: dict[str, Any],
    tests_per_sample: int,
    example_weight: int = DEFAULT_EXAMPLE_WEIGHT,
) -> MatrixProblem:
    """The matrix stage's input for one task: its sampled solutions as programs, its sampled tests, and
    the examples its prompt shows counted `example_weight` times each (0: none)."""
    parts = [solution_parts(task, style, c["text"]) for c in solutions["completions"]]
    problem = MatrixProblem.from_raw(
        task.key,
        parts[0][0] if parts else task.prompt,
        task.entry_point,
        [solution for _, solution in parts],
        [c["text"] for c in tests["completions"]],
        limit=tests_per_sample or None,
    )
    examples = prompt_example_tests(task.prompt, task.entry_point) if example_weight else []
    return with_example_tests(problem, examples, example_weight)


def chat_samples(generations: dict[str, dict[str, Any]]) -> dict[str, ChatSamples]:
    """Chat prompts and whole answers by task key (what chat-style training rows are made of)."""
    return {
        key: ChatSamples(prompt=record["prompt"], answers=[c["text"] for c in record["completions"]])
        for key, record in generations.items()
    }
