"""The `codepref` command line: one subcommand per pipeline stage (generate -> execute -> rank -> pair ->
train -> evaluate); `run` chains them all from one config.
"""

from __future__ import annotations

import typer

from codepref.coder.cli import app as coder_app
from codepref.evaluate.cli import eval_command
from codepref.gates.cli import bench_command
from codepref.generate.command import generate_command
from codepref.loop.cli import run_command
from codepref.matrix.cli import matrix_command
from codepref.model_judges.cli import judge_command
from codepref.pairs.cli import pairs_command
from codepref.sandbox.cli import app as sandbox_app
from codepref.steps.cli import app as steps_app
from codepref.train.cli import train_command

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
app.add_typer(sandbox_app, name="sandbox")
app.add_typer(coder_app, name="coder")
app.add_typer(steps_app, name="steps")
app.command("generate")(generate_command)
app.command("eval")(eval_command)
app.command("matrix")(matrix_command)
app.command("pairs")(pairs_command)
app.command("train")(train_command)
app.command("judge")(judge_command)
app.command("run")(run_command)
app.command("bench")(bench_command)

if __name__ == "__main__":
    app()
