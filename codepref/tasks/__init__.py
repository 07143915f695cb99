"""The lowest layer above the sandbox: what a problem is and how it becomes a program to run.

`problem` holds the `Problem` record every benchmark loader returns; `prompts` renders a problem into the
text a model continues (solutions and CodeT-style tests, completion or chat); `extract` turns sampled text
back into code; `task` ties them together for the loop (a problem with its rendered prompt and run-wide key,
and a sample's program). Nothing here imports another codepref subpackage except `records`, so every stage
above (data, generate, evaluate, matrix, rank, judges, pairs, train, loop, benchmarks) may use it.
"""

from codepref.tasks.problem import DataFileError, ExpectedOutputs, Problem
from codepref.tasks.task import Task, make_task, program, solution_parts, solution_prompt, test_prompt

__all__ = [
    "DataFileError",
    "ExpectedOutputs",
    "Problem",
    "Task",
    "make_task",
    "program",
    "solution_parts",
    "solution_prompt",
    "test_prompt",
]
