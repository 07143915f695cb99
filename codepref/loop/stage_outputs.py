"""What each stage of a round hands the next: typed records, kept as the `summary` of the stage's
`stage.json`. A stage reads its inputs through the files these records name, with the owning stage's
reader; it never guesses another stage's file names or reads its summary dict."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Generated:
    style: str  # the run's prompt style these samples were drawn with
    solutions_file: str  # codepref.generate records: one line per task key, N solution completions
    tests_file: str  # ... M raw test completions
    problems: int
    solutions: int
    test_samples: int


@dataclass
class Matrices:
    matrix_file: str  # codepref.matrix format
    problems: int
    jobs: int
    tests: int
    cells: int
    passing_cells: int
    sandbox_errors: int = 0  # jobs whose sandbox fault persisted: their rows fail every test


@dataclass
class Rankings:
    rankings_file: str  # codepref.rank.ranked records, one per problem
    judge: str
    problems: int
    with_signal: int  # problems where some solution passed some sampled test
    with_trusted_top: int  # ... and the trust gate accepts the top solution


@dataclass
class Pairs:
    pairs_file: str  # TRL preference rows for the trainer
    pairs: int
    ranked_pairs: int
    fallback_pairs: int
    problems_with_pairs: int
    step_pairs: int = 0  # of `pairs`: step-level ones (a config's `steps:` section)


@dataclass
class Trained:
    trained: bool
    model: str  # the round's model: the trained one, or the previous one carried over
    examples: int = 0
    steps: int | None = None
    train_loss: float | None = None
    samples_per_s: float | None = None


@dataclass
class Evaluated:
    scores: dict[str, dict[str, float]] = field(
        default_factory=dict
    )  # set label -> {"pass@1": ..., "problems": n, "sandbox_errors": samples counted as failed}
