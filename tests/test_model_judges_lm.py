"""The judges' model wrapper: batched forward passes agree with one-sequence-at-a-time ones."""

import pytest
import torch

from codepref.train.trainer import completion_logprobs

CONTEXTS = ["def f(x):\n", "class Point:\n    def __init__(self, x, y):\n", "import os\n"]
COMPLETIONS = ["    return x * 2\n", "        self.x = x\n", "print(os.sep)"]


def test_batched_completion_logprobs_match_the_trainers_unbatched_measure(tiny_judge_model):
    batched = tiny_judge_model.completion_logprobs(CONTEXTS, COMPLETIONS)
    single = completion_logprobs(tiny_judge_model.model, tiny_judge_model.tokenizer, CONTEXTS, COMPLETIONS)
    assert [b.total for b in batched] == pytest.approx(single, abs=1e-4)
    assert all(b.tokens > 0 and b.mean == pytest.approx(b.total / b.tokens) for b in batched)


def test_batched_next_token_logprobs_match_a_lone_forward_pass(tiny_judge_model):
    ids = tiny_judge_model.label_token_ids(["A", "B"])
    batched = tiny_judge_model.next_token_logprobs(CONTEXTS, ids)
    for row, context in enumerate(CONTEXTS):
        encoded = tiny_judge_model.tokenizer(context, return_tensors="pt", add_special_tokens=False)[
            "input_ids"
        ]
        with torch.no_grad():
            alone = torch.log_softmax(tiny_judge_model.model(encoded).logits[0, -1].float(), dim=-1)[ids]
        assert batched[row] == pytest.approx(alone.numpy(), abs=1e-4)


def test_instructions_go_through_the_chat_template(tiny_judge_model):
    assert tiny_judge_model.instruction("hi") == "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"


def test_greedy_sampling_is_repeatable(tiny_judge_model):
    first = tiny_judge_model.sample(["def f(x):\n"], n=2, max_tokens=5)
    assert first == tiny_judge_model.sample(["def f(x):\n"], n=2, max_tokens=5) and first[0][0] == first[0][1]
