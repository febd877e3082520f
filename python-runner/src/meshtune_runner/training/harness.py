"""Standard 5-shot MMLU through EleutherAI's lm-evaluation-harness (`lm_eval`), offline.

The runner's per-trial MMLU score (mmlu.py) is a zero-shot quick proxy. For numbers comparable
with published MMLU results — the best trials' kept adapters, as the NOMAD team evaluated
theirs — this runs the harness's own MMLU task definition (lm_eval/tasks/mmlu/default:
"The following are multiple choice questions (with answers) about {subject}.", the question
with "A. … D." and "Answer:", the first 5 questions of the subject's dev split as examples,
accuracy by the log-likelihood of " A" … " D") on local MMLU files, so that nothing is
downloaded: the test and dev splits are given as folders of MMLU's CSV files (or JSON
records, as mmlu.py reads them) and handed to `datasets`' local JSON builder.

    python -m meshtune_runner.training.harness ADAPTER_DIR --test data/test --dev data/dev
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .mmlu import MmluQuestion, load_mmlu

__all__ = ["HarnessResult", "evaluate_mmlu_5shot", "mmlu_task_configs"]

NUM_FEWSHOT = 5

# lm_eval/tasks/mmlu/default/_default_template_yaml (lm-eval 0.4.13), verbatim.
_DOC_TO_TEXT = (
    "{{question.strip()}}\nA. {{choices[0]}}\nB. {{choices[1]}}\nC. {{choices[2]}}\n"
    "D. {{choices[3]}}\nAnswer:"
)


@dataclass(frozen=True)
class HarnessResult:
    #: accuracy over all test questions (each question counts once: the harness's
    #: size-weighted mean of the subjects, as its `mmlu` group reports)
    accuracy: float
    questions: int
    #: subject -> (accuracy, questions)
    subjects: dict[str, tuple[float, int]]
    #: the first test question's full prompt, as the model saw it (for checks and logs)
    example_prompt: str
    num_fewshot: int = NUM_FEWSHOT


def _by_subject(questions: list[MmluQuestion], label: str) -> dict[str, list[MmluQuestion]]:
    grouped: dict[str, list[MmluQuestion]] = defaultdict(list)
    for question in questions:
        if len(question.choices) != 4:
            raise ValueError(
                f"{label}: MMLU questions have 4 choices, one has {len(question.choices)}"
            )
        grouped[question.subject or "unknown"].append(question)
    return grouped


def _write_jsonl(path: Path, questions: list[MmluQuestion]) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for q in questions:
            record = {"question": q.question, "choices": list(q.choices), "answer": q.answer}
            handle.write(json.dumps(record) + "\n")


def mmlu_task_configs(test: Path, dev: Path, work_dir: Path) -> list[dict[str, Any]]:
    """One harness task per subject of `test`, in the harness's MMLU format, reading local
    JSON Lines written under `work_dir`. Every subject needs 5 dev questions."""
    tests = _by_subject(load_mmlu(test), str(test))
    devs = _by_subject(load_mmlu(dev), str(dev))
    work_dir.mkdir(parents=True, exist_ok=True)
    configs = []
    for subject in sorted(tests):
        examples = devs.get(subject, [])
        if len(examples) < NUM_FEWSHOT:
            raise ValueError(
                f"{dev}: subject {subject!r} has {len(examples)} dev questions; "
                f"{NUM_FEWSHOT}-shot MMLU needs {NUM_FEWSHOT}"
            )
        test_file, dev_file = work_dir / f"{subject}_test.jsonl", work_dir / f"{subject}_dev.jsonl"
        _write_jsonl(test_file, tests[subject])
        _write_jsonl(dev_file, examples)
        configs.append(
            {
                "task": f"meshtune_mmlu_{subject}",
                "task_alias": subject,
                "dataset_path": "json",
                "dataset_kwargs": {"data_files": {"test": str(test_file), "dev": str(dev_file)}},
                "test_split": "test",
                "fewshot_split": "dev",
                "fewshot_config": {"sampler": "first_n"},
                "num_fewshot": NUM_FEWSHOT,
                "output_type": "multiple_choice",
                "description": "The following are multiple choice questions (with answers) "
                f"about {subject.replace('_', ' ')}.\n\n",
                "doc_to_text": _DOC_TO_TEXT,
                "doc_to_choice": ["A", "B", "C", "D"],
                "doc_to_target": "answer",
                "metric_list": [{"metric": "acc", "aggregation": "mean", "higher_is_better": True}],
                "metadata": {"version": 1.0},
            }
        )
    return configs


def evaluate_mmlu_5shot(
    model: Any,
    tokenizer: Any,
    test: Path,
    dev: Path,
    work_dir: Path,
    batch_size: int = 8,
    max_length: int | None = None,
) -> HarnessResult:
    """5-shot MMLU of a loaded model (e.g. training.adapters.load_adapter's PeftModel)."""
    from lm_eval import simple_evaluate
    from lm_eval.models.huggingface import HFLM

    lm = HFLM(pretrained=model, tokenizer=tokenizer, batch_size=batch_size, max_length=max_length)
    configs = mmlu_task_configs(test, dev, work_dir)
    results = simple_evaluate(
        model=lm,
        tasks=configs,
        num_fewshot=NUM_FEWSHOT,
        log_samples=True,
        bootstrap_iters=0,
    )
    if results is None:  # only on non-zero ranks of a distributed run
        raise RuntimeError("lm-eval returned no results on this rank")
    subjects: dict[str, tuple[float, int]] = {}
    correct = total = 0.0
    for config in configs:
        name = config["task"]
        samples = results["samples"][name]
        accuracy = float(results["results"][name]["acc,none"])
        subjects[config["task_alias"]] = (accuracy, len(samples))
        correct += accuracy * len(samples)
        total += len(samples)
    first = results["samples"][configs[0]["task"]][0]
    return HarnessResult(
        accuracy=correct / total,
        questions=int(total),
        subjects=subjects,
        example_prompt=str(first["arguments"][0][0]),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("adapter", type=Path, help="a kept adapter folder (or a model folder)")
    parser.add_argument("--test", type=Path, required=True, help="MMLU test split (CSV folder)")
    parser.add_argument("--dev", type=Path, required=True, help="MMLU dev split (CSV folder)")
    parser.add_argument("--base-model", help="base model (default: the adapter's own)")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--work-dir", type=Path, default=Path("mmlu-harness"))
    args = parser.parse_args(argv)

    from transformers import AutoModelForCausalLM, AutoTokenizer

    from .adapters import load_adapter

    if (args.adapter / "adapter_config.json").is_file():
        model = load_adapter(args.adapter, args.base_model)
    else:
        model = AutoModelForCausalLM.from_pretrained(str(args.adapter))
    tokenizer = AutoTokenizer.from_pretrained(str(args.adapter))
    result = evaluate_mmlu_5shot(
        model, tokenizer, args.test, args.dev, args.work_dir, batch_size=args.batch_size
    )
    json.dump(
        {
            "mmlu_5shot_accuracy": result.accuracy,
            "questions": result.questions,
            "subjects": {
                k: {"accuracy": a, "questions": n} for k, (a, n) in result.subjects.items()
            },
        },
        sys.stdout,
        indent=2,
    )
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
