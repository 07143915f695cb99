"""`task: text`: the loop for general text on the judging interface. Round 0 is the starting model; each
round r >= 1 then runs, with round r-1's model,

    judge -> train

`judge` samples responses to the config's prompts (any JSONL or `datasets` source; a `prompt` field or chat
`messages`), has the named judge (`codepref.model_judges`) turn them into pairs with per-pair confidence,
preference, margin and source, and adds self-refinement pairs when asked (`codepref.model_judges.text_task`);
`train` is the code loop's own stage with the config's loss (any TRL loss, or a per-pair one such as
`noise_aware_dpo` that reads the judge's confidences). The implicit-reward judge compares the round's policy
with the starting model, so it has an opinion from round 2 on. Text has no hidden tests: the summary reports
pairs, their sources and confidence, and the training loss per round.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from codepref.loop.code_loop import Loop, RunResult
from codepref.loop.config import LoopConfig
from codepref.loop.models import resolve_model
from codepref.loop.report import RoundResult, write_summary
from codepref.loop.stage_outputs import Pairs
from codepref.loop.stages import fingerprint, text_fingerprint
from codepref.model_judges.text_task import load_prompts, text_round


@dataclass
class Judged:
    pairs_file: str  # JudgedPair rows (or SAMI records for the sami loss)
    prompts: int
    pairs: int
    judge: str
    pairs_by_source: dict[str, int] = field(default_factory=dict)
    mean_confidence: float | None = None


class TextLoop(Loop):
    def run(self) -> RunResult:
        with self._stack:
            model, self.cfg = resolve_model(self.cfg)
            start = model
            run_dir = self.cfg.run_dir
            run_dir.mkdir(parents=True, exist_ok=True)
            (run_dir / "config.json").write_text(json.dumps(asdict(self.cfg), indent=1, default=str))
            results = [RoundResult(0, model, {})]
            for r in range(1, self.cfg.rounds + 1):
                judged = self.judge(r, model, start)
                pairs = Pairs(judged.pairs_file, judged.pairs, judged.pairs, 0, judged.prompts)
                trained = self.train(r, model, pairs)
                results.append(
                    RoundResult(r, trained.model, {}, judged.pairs, trained.train_loss, trained.trained)
                )
                model = trained.model
            self.models.close()
        write_summary(self.cfg.run_dir, results, self.cfg.eval.ks)
        return RunResult(self.cfg.run_dir, results, self.runner.outcomes)

    def judge(self, r: int, model: str, start: str) -> Judged:
        settings, g = self.cfg.text, self.cfg.generation
        inputs = {
            "model": fingerprint(model),
            "reference": fingerprint(start),
            "settings": asdict(settings),
            "prompts": text_fingerprint("\n".join(load_prompts(settings.prompts))),
            "loss": self.cfg.train.loss,
            "seed": g.seed + r,
        }

        def body(out: Path) -> Judged:
            summary = text_round(
                settings,
                model,
                start,
                out,
                loss=self.cfg.train.loss,
                seed=g.seed + r,
                batch_size=g.batch_size,
            )
            return Judged(
                pairs_file=str(out / "pairs.jsonl"),
                prompts=summary["prompts"],
                pairs=summary["pairs"],
                judge=summary["judge"],
                pairs_by_source=summary["pairs_by_source"],
                mean_confidence=summary.get("mean_confidence"),
            )

        return self.runner.run(r, "judge", inputs, body, Judged)


def make_loop(cfg: LoopConfig, data_dir: str | None = None) -> Loop:
    """The loop for the config's task: the code loop, or the text loop."""
    return TextLoop(cfg, data_dir) if cfg.task == "text" else Loop(cfg, data_dir)
