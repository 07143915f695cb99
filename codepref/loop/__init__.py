"""The self-alignment loop, split by job: `config` (settings), `validate` (reading a config file),
`models` (model resolution, generators, prompt style), `records` (what stages hand each other), `stages`
(skip/resume bookkeeping), `runner` (the loop itself, top to bottom; `Loop.session` runs chosen stages),
`truth` (a round's samples judged by the hidden tests, for benchmarks), `report` (the per-round table),
`text` (the general-text loop), `cli` (`codepref run`)."""

from codepref.loop.code_loop import Loop, RunResult
from codepref.loop.config import LoopConfig, ProblemSet, default_config
from codepref.loop.validate import ConfigError, load_loop_config

__all__ = [
    "ConfigError",
    "Loop",
    "LoopConfig",
    "ProblemSet",
    "RunResult",
    "default_config",
    "load_loop_config",
]
