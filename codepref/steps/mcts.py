"""MCTS-DPO's pairs: a small UCT tree search per prompt whose executed rollouts give every step a value.

A node is a step (the root: the prompt itself); its prefix is the prompt followed by the steps on its path.
Each round selects a leaf by UCT (mean score plus `exploration * sqrt(ln N(parent) / N(child))`, among the
children not yet exhausted), expands it by sampling `width` continuations of its prefix, and backs each
continuation's score up its path: the root, the leaf, and the child the continuation's first step is (a
new one unless a sibling already holds that text). A child whose step ended its continuation is terminal.
The search stops once `budget` rollouts are used or every path is exhausted.

Pairs: at every expanded node, its two children with the largest value gap, each visited at least
`min_visits` times, when the gap exceeds `min_gap`.

The tree of each problem is rewritten (atomically) after every expansion, as JSONL: a header with the
settings and the rollouts used, then one line per node. A rerun loads it and goes on; rollouts come from
the engine's cache, so an expansion cut short by a kill is redone without sampling or running anything.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from codepref.records import read_jsonl, write_jsonl
from codepref.settings import check_settings, raise_problems, setting
from codepref.steps.pair import StepPair
from codepref.steps.split import split_steps
from codepref.steps.values import RolloutEngine, StepProblem

# Means of the same scores summed in another order differ in the last bits: no gap below this is a gap.
GAP_TOLERANCE = 1e-9


@dataclass(frozen=True)
class TreeSettings:
    budget: int = setting(32, "Rollouts per prompt.", minimum=1)
    width: int = setting(4, "Continuations sampled to expand a node.", minimum=1)
    exploration: float = setting(1.0, "UCT's constant.", minimum=0)
    min_visits: int = setting(2, "Rollouts through each step of a pair.", minimum=1)
    min_gap: float = setting(0.0, "The value gap a pair must exceed.", minimum=0, below=1)
    lines_per_step: int | None = setting(
        None, "Lines per step (unset: logical lines, codepref.steps.split).", minimum=1
    )

    def __post_init__(self) -> None:
        raise_problems(check_settings(self))

    def shape(self) -> dict:
        """The settings a saved tree must share to be searched on (the budget may grow)."""
        return {"width": self.width, "exploration": self.exploration, "lines_per_step": self.lines_per_step}


@dataclass
class Node:
    id: int
    parent: int | None
    step: str
    depth: int
    visits: int = 0
    total: float = 0.0
    expanded: bool = False
    terminal: bool = False
    children: list[int] = field(default_factory=list)

    @property
    def value(self) -> float:
        return self.total / self.visits if self.visits else 0.0


@dataclass
class Tree:
    task_id: str
    prompt: str
    nodes: list[Node]
    rollouts: int = 0  # rollouts used so far

    def prefix(self, node: Node) -> str:
        steps = []
        while node.parent is not None:
            steps.append(node.step)
            node = self.nodes[node.parent]
        return self.prompt + "".join(reversed(steps))

    def child(self, parent: Node, step: str, terminal: bool) -> Node:
        for index in parent.children:
            if self.nodes[index].step == step:
                return self.nodes[index]
        node = Node(len(self.nodes), parent.id, step, parent.depth + 1, terminal=terminal)
        self.nodes.append(node)
        parent.children.append(node.id)
        return node

    def exhausted(self, node: Node) -> bool:
        return node.terminal or (node.expanded and all(self.exhausted(self.nodes[c]) for c in node.children))

    def select(self, exploration: float) -> list[Node]:
        """The path from the root to the leaf to expand next (first of equals: the earliest created)."""
        path = [self.nodes[0]]
        while path[-1].expanded:
            parent = path[-1]
            open_children = [self.nodes[c] for c in parent.children if not self.exhausted(self.nodes[c])]
            path.append(
                max(
                    open_children,
                    key=lambda c: c.value + exploration * math.sqrt(math.log(parent.visits) / c.visits),
                )
            )
        return path


def search(problem: StepProblem, engine: RolloutEngine, settings: TreeSettings, tree_path: Path) -> Tree:
    """Search (or go on searching) the problem's tree until its budget is used; see the module docstring."""
    tree = load_tree(tree_path, problem, settings)
    for (
        node
    ) in tree.nodes:  # the loaded expansions' rollouts, from the cache: the problem's usage counts them
        if node.expanded:
            engine.rollouts(problem, [tree.prefix(node)], settings.width)
    while tree.rollouts < settings.budget and not tree.exhausted(tree.nodes[0]):
        path = tree.select(settings.exploration)
        leaf = path[-1]
        (rollouts,) = engine.rollouts(problem, [tree.prefix(leaf)], settings.width)
        for rollout in rollouts:
            steps = split_steps(rollout.continuation, settings.lines_per_step)
            through = path + ([tree.child(leaf, steps[0], terminal=len(steps) == 1)] if steps else [])
            for node in through:
                node.visits += 1
                node.total += rollout.score
        leaf.expanded = True
        tree.rollouts += len(rollouts)
        save_tree(tree_path, tree, settings)
    return tree


def tree_pairs(tree: Tree, settings: TreeSettings, engine: RolloutEngine) -> list[StepPair]:
    usage = engine.usage[tree.task_id]
    pairs = []
    for node in tree.nodes:
        children = [tree.nodes[c] for c in node.children if tree.nodes[c].visits >= settings.min_visits]
        if len(children) < 2:
            continue
        best = max(children, key=lambda c: c.value)  # first of equals: the earliest created
        worst = min(children, key=lambda c: c.value)
        if best.value - worst.value <= settings.min_gap + GAP_TOLERANCE:
            continue
        pairs.append(
            StepPair(
                prompt=tree.prefix(node),
                chosen=best.step,
                rejected=worst.step,
                task_id=tree.task_id,
                method="mcts",
                depth=node.depth,
                chosen_value=best.value,
                rejected_value=worst.value,
                chosen_visits=best.visits,
                rejected_visits=worst.visits,
                rollouts=tree.rollouts,
                executions=len(usage.programs),
            )
        )
    return pairs


def tree_file(directory: Path, task_id: str) -> Path:
    """The tree's file: the task id made safe as a file name."""
    return directory / (re.sub(r"[^A-Za-z0-9_.-]+", "_", task_id) + ".jsonl")


def save_tree(path: Path, tree: Tree, settings: TreeSettings) -> None:
    header = {"task_id": tree.task_id, "prompt": tree.prompt, "rollouts": tree.rollouts, **settings.shape()}
    rows = [{k: v for k, v in asdict(n).items() if k != "children"} | {"value": n.value} for n in tree.nodes]
    write_jsonl(path, [header, *rows])


def load_tree(path: Path, problem: StepProblem, settings: TreeSettings) -> Tree:
    """The saved tree of `problem`, or a new one (only the root) when there is none."""
    rows = read_jsonl(path)
    if not rows:
        return Tree(problem.task_id, problem.prompt, [Node(0, None, "", 0)])
    header, *node_rows = rows
    saved = {key: header.get(key) for key in settings.shape()}
    if (header["task_id"], header["prompt"], saved) != (problem.task_id, problem.prompt, settings.shape()):
        raise ValueError(
            f"{path}: a tree of another problem or searched with other settings ({saved}); "
            "delete it or write to another directory"
        )
    nodes = [Node(**{k: v for k, v in row.items() if k != "value"}) for row in node_rows]
    for node in nodes[1:]:
        nodes[node.parent].children.append(node.id)
    return Tree(problem.task_id, problem.prompt, nodes, header["rollouts"])
