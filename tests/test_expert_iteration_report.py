"""benchmarks/expert_iteration_report.py: the constant-blind program shape, the split of a measurement by
what the pool solved, changes across seeds, and the precision of the label-free evidence in a pool."""

import json

import pytest

from codepref.data import load_problems
from codepref.evaluate.harness import default_results_path
from codepref.generate.sampling import read_problem_samples
from codepref.synth.problems import generate_split


@pytest.fixture(scope="module")
def report(benchmark_script):
    return benchmark_script("expert_iteration_report")


def test_programs_that_differ_only_in_constants_share_a_shape_and_a_changed_step_does_not(report):
    right = "def f(xs):\n    return [x * 3 for x in xs if x > 2]\n"
    assert report.constant_shape(right) == report.constant_shape(right.replace("3", "4").replace("2", "5"))
    assert report.constant_shape(right) != report.constant_shape(right.replace("x > 2", "x < 2"))
    assert report.constant_shape("def f(:\n") is None


def test_coverage_splits_a_measurement_by_whether_the_pool_solved_a_prompt_of_the_same_function_shape(
    report, tmp_path, capsys
):
    def shape(p):
        return (p.composition.family, *(s.name for s in p.composition.steps))

    prompts, measured = generate_split("prompts"), generate_split("validation")
    shapes_in_pool = {shape(p) for p in prompts}
    solved = next(p for p in measured if shape(p) in shapes_in_pool)
    solved_shape = shape(solved)
    unsolved = next(p for p in measured if shape(p) in shapes_in_pool and shape(p) != solved_shape)
    absent = next(p for p in measured if shape(p) not in shapes_in_pool)  # a constant-free function
    ids = {p.prompt: p.task_id for p in load_problems("synth-prompts")}
    pool_rows = [  # one passing sample of the first shape, a failing one of the second
        (ids[next(q.prompt for q in prompts if shape(q) == solved_shape)], True),
        (ids[next(q.prompt for q in prompts if shape(q) == shape(unsolved))], False),
    ]
    pool = tmp_path / "pool"
    pool.mkdir()
    judged = pool / "samples.distinct.jsonl"
    judged.write_text("".join(json.dumps({"task_id": k, "completion": "pass"}) + "\n" for k, _ in pool_rows))
    default_results_path(judged).write_text(
        "".join(json.dumps({"line": i, "passed": ok}) + "\n" for i, (_, ok) in enumerate(pool_rows, 1))
    )
    task_of = {p.prompt: p.task_id for p in load_problems("synth-validation")}
    counts = {task_of[solved.prompt]: 7, task_of[unsolved.prompt]: 1, task_of[absent.prompt]: 4}
    (tmp_path / "run" / "eval-1").mkdir(parents=True)
    (tmp_path / "run" / "eval-1" / "figures.json").write_text(json.dumps({"counts": counts}))

    report.coverage(pool, [f"{tmp_path / 'run'}:1"], "synth-prompts", "synth-validation")
    figures = json.loads(capsys.readouterr().out.split(" ", 1)[1])
    assert figures["solved in pool"]["sampled"] == pytest.approx(0.7)
    assert figures["unsolved in pool"]["sampled"] == pytest.approx(0.1)
    assert figures["not in pool"]["sampled"] == pytest.approx(0.4)


def test_transfer_gives_the_change_apart_on_shown_and_withheld_compositions(report, tmp_path, capsys):
    from codepref.synth.problems import key_of_prompt, withheld_keys

    keys, withheld = key_of_prompt("validation"), withheld_keys(0.5)
    problems = load_problems("synth-validation")
    before = {p.task_id: 2 for p in problems}
    after = {p.task_id: 6 if keys[p.prompt] in withheld else 1 for p in problems}
    for name, counts in (("base", before), ("run", after)):
        (tmp_path / name / "eval-0").mkdir(parents=True)
        (tmp_path / name / "eval-0" / "figures.json").write_text(json.dumps({"counts": counts}))

    report.transfer([f"{tmp_path / 'base'}:0", f"{tmp_path / 'run'}:0"], 0.5, "synth-validation")
    figures = json.loads(capsys.readouterr().out.split(" ", 1)[1])
    assert figures["withheld"]["change"] == pytest.approx(0.4)
    assert figures["shown"]["change"] == pytest.approx(-0.1)
    assert figures["withheld"]["problems"] + figures["shown"]["problems"] == len(problems)


def test_seeds_gives_each_seeds_change_then_their_mean_and_spread(report, tmp_path, capsys):
    problems = [f"t/{i}" for i in range(20)]
    for seed, after in ((0, 3), (1, 6), (2, 4)):  # 2 of 10 passing before, then 3, 6 and 4
        for r, passing in ((0, 2), (1, after)):
            folder = tmp_path / f"s{seed}" / f"eval-{r}"
            folder.mkdir(parents=True)
            (folder / "figures.json").write_text(json.dumps({"counts": dict.fromkeys(problems, passing)}))

    report.across_seeds([(f"{tmp_path / f's{seed}'}:0", f"{tmp_path / f's{seed}'}:1") for seed in range(3)])
    lines = capsys.readouterr().out.splitlines()
    per_seed = [json.loads(line.split(" ", 1)[1]) for line in lines[:3]]
    assert [s["change"] for s in per_seed] == pytest.approx([0.1, 0.4, 0.2])
    assert lines[3].startswith("across seeds ")
    summary = json.loads(lines[3].removeprefix("across seeds "))
    assert summary == pytest.approx(
        {"seeds": 3, "mean": 0.2333, "min": 0.1, "max": 0.4, "spread": 0.3}, abs=1e-4
    )


def write_counts(folder, counts):
    """A run's measurement as expert_iteration.py leaves it: passing samples of 10 per problem."""
    folder.mkdir(parents=True)
    (folder / "figures.json").write_text(json.dumps({"counts": counts}))


def test_share_against_an_oracle_that_did_not_gain_is_one_usage_error(report, tmp_path, monkeypatch, capsys):
    problems = [f"t/{i}" for i in range(5)]
    for name in ("base", "source", "oracle"):
        write_counts(tmp_path / name / "eval-0", dict.fromkeys(problems, 3))
    runs = [f"{tmp_path / name}:0" for name in ("base", "source", "oracle")]
    monkeypatch.setattr("sys.argv", ["expert_iteration_report.py", "--share", *runs])
    with pytest.raises(SystemExit) as exit_info:
        report.main()
    assert exit_info.value.code == 2
    assert "did not gain" in capsys.readouterr().err


def test_precision_sorts_example_passers_by_rivals_copies_and_sampled_tests_and_counts_right_tests_where_a_matrix_is(
    report, benchmark_script, tmp_path, capsys
):
    ei = benchmark_script("expert_iteration")  # builds the pool the report reads
    problem = load_problems("synth-prompts")[1]
    rote = "    return -3 if xs[0] == -1 else -12\n"  # answers the prompt's two examples, nothing else
    texts = [problem.canonical_solution, rote, problem.canonical_solution, "    return 0\n"]
    row = {"key": problem.task_id, "prompt": problem.prompt, "completions": [{"text": t} for t in texts]}
    (tmp_path / "samples.jsonl").write_text(json.dumps(row) + "\n")
    completions = read_problem_samples([problem], tmp_path / "samples.jsonl")
    ei.judge("synth-prompts", [problem], completions, tmp_path / "samples.jsonl", 2)
    ei.example_verdicts([problem], completions, tmp_path / "examples.jsonl", 2, "synth-prompts")
    hidden = "\nassert ".join(t.removeprefix("assert ") for t in problem.test_list[:3])
    report.precision(tmp_path, "synth-prompts")  # no ranker ran there yet: no matrix, no sampled tests
    without_matrix = capsys.readouterr().out.splitlines()
    # Three right asserts, one wrong, and one right that the rote program passes but `return 0` fails.
    tests = {problem.task_id: [hidden, "select_numbers([-3]) == -3", "select_numbers([-1, 3]) == -3"]}
    ei.ranker_tops("codet", [problem], completions, tests, tmp_path, 2)  # builds the pool's matrix

    report.precision(tmp_path, "synth-prompts")
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == 'passes the examples {"rows": 2, "right": 0.5}'
    from_matrix = [
        'and passes 0.00+ of its sampled tests {"rows": 1, "right": 0.0}',
        'and passes 0.75+ of its sampled tests {"rows": 1, "right": 1.0}',
    ]
    from_examples = [
        'and is one of 2 distinct samples passing them {"rows": 2, "right": 0.5}',
        'and is 1 of the prompt\'s samples {"rows": 1, "right": 0.0}',
        'and is 2 of the prompt\'s samples {"rows": 1, "right": 1.0}',
    ]
    assert [line.strip() for line in lines[1:]] == [
        *from_matrix,
        *from_examples,
        'sampled tests of prompts with a right sample {"tests": 5, "right": 0.8, "right and telling": 0.8}',
        'fails the examples {"rows": 1, "right": 0.0}',
    ]
    assert [line.strip() for line in without_matrix] == [
        lines[0],
        *from_examples,
        'fails the examples {"rows": 1, "right": 0.0}',
    ]


def test_precision_on_a_pool_without_example_verdicts_names_the_missing_file_in_one_line(report, tmp_path):
    (tmp_path / "samples.jsonl").write_text("")
    (tmp_path / "samples.distinct_results.jsonl").write_text("")
    with pytest.raises(
        SystemExit, match=r"^error: .*: no examples\.distinct_results\.jsonl; run expert_iteration"
    ):
        report.precision(tmp_path, "synth-prompts")


def test_withheld_without_runs_to_compare_is_one_usage_error(report, monkeypatch, capsys):
    monkeypatch.setattr("sys.argv", ["expert_iteration_report.py", "--withheld", "0.5"])
    with pytest.raises(SystemExit) as exit_info:
        report.main()
    assert exit_info.value.code == 2
    assert "--withheld splits a --compare" in capsys.readouterr().err


@pytest.mark.parametrize("pair", ["run-s0:0", "run-s0:0,run-s0:1,run-s0:2", "run-s0:0,"])
def test_a_seeds_argument_that_is_not_two_runs_joined_by_a_comma_is_one_usage_error(
    report, monkeypatch, capsys, pair
):
    monkeypatch.setattr("sys.argv", ["expert_iteration_report.py", "--seeds", pair])
    with pytest.raises(SystemExit) as exit_info:
        report.main()
    assert exit_info.value.code == 2
    assert f"{pair!r} is not BEFORE,AFTER" in capsys.readouterr().err


def test_compare_draws_its_chart_with_one_named_bar_per_run_after_the_first(report, tmp_path, capsys):
    problems = [f"t/{i}" for i in range(10)]
    for name, passing in (("base", 2), ("sole", 5), ("random", 1)):
        write_counts(tmp_path / name / "eval-1", dict.fromkeys(problems, passing))
    runs = [f"{tmp_path / name}:1" for name in ("base", "sole", "random")]

    chart = report.compare(runs, tmp_path / "chart.png", ["base coder", "sole passer", "random"])
    assert (tmp_path / "chart.png").read_bytes().startswith(b"\x89PNG")
    changes = [json.loads(line.split(" ", 1)[1]) for line in capsys.readouterr().out.splitlines()]
    assert [c["change"] for c in changes] == pytest.approx([0.3, -0.1])
    axis = chart.axes[0]
    assert [t.get_text() for t in axis.get_yticklabels()] == ["sole passer", "random"]
    assert [round(bar.get_width(), 6) for bar in axis.patches] == [30.0, -10.0]
    assert "from base coder" in axis.get_xlabel()


@pytest.mark.parametrize(
    "extra",
    [["--labels", "a", "b"], ["--labels", "a", "a", "a", "--plot", "c.png"], ["--labels", "a", "b", "c"]],
)
def test_labels_that_do_not_name_each_compared_run_of_a_chart_once_are_one_usage_error(
    report, monkeypatch, capsys, extra
):
    monkeypatch.setattr("sys.argv", ["expert_iteration_report.py", "--compare", "r:0", "r:1", "r:2", *extra])
    with pytest.raises(SystemExit) as exit_info:
        report.main()
    assert exit_info.value.code == 2
    assert "one distinct NAME per RUN:ROUND" in capsys.readouterr().err
