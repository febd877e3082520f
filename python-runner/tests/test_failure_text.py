"""What a failure report may carry to the API: one test per class of hostile text."""

from __future__ import annotations

import json

import pytest

from meshtune_runner.failure_text import (
    MAX_FAILURE_CHARS,
    MAX_LINE_CHARS,
    REDACTED,
    clean_failure_text,
    redact_secrets,
    secret_environment_values,
)

MESHTUNE_KEY = "mt_runner_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8S9t0U1v"


@pytest.mark.parametrize(
    ("leaky", "secret"),
    [
        (f"POST /v1/trials/x/fail with {MESHTUNE_KEY} -> 401", MESHTUNE_KEY),
        (
            "401 Client Error for hf_AbCdEfGhIjKlMnOpQrStUvWxYz012345",
            "hf_AbCdEfGhIjKlMnOpQrStUvWxYz012345",
        ),
        (
            "git clone https://ghp_0123456789abcdefghijABCDEFGHIJ012345@github.com/x",
            "ghp_0123456789abcdefghijABCDEFGHIJ012345",
        ),
        ("InvalidAccessKeyId: AKIAIOSFODNN7EXAMPLE does not exist", "AKIAIOSFODNN7EXAMPLE"),
        ("headers={'Authorization': 'Bearer abc.def-ghi_jkl'}", "abc.def-ghi_jkl"),
        ("Authorization: token 0123456789abcdef", "0123456789abcdef"),
        (
            "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N",
            "dozjgNryP4J3jVmNHl0w5N",
        ),
        ("connect postgres://meshtune:s3cr3t-pass@db:5432/x failed", "s3cr3t-pass"),
        (
            "GET https://bucket.s3.amazonaws.com/a/b?X-Amz-Algorithm=AWS4-HMAC-SHA256"
            "&X-Amz-Credential=AKIAXX%2F20261204&X-Amz-Signature=9f86d081884c7d65"
            "&X-Amz-Security-Token=IQoJb3JpZ2lu 403",
            "9f86d081884c7d65",
        ),
        (
            "https://acct.blob.core.windows.net/c/f?sv=2024&sig=Zm9vYmFyYmF6cXV4&se=2026",
            "Zm9vYmFyYmF6cXV4",
        ),
        ("run --hf-token s3cretvalue1 --epochs 3", "s3cretvalue1"),
        ("AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "wJalrXUtnFEMI/K7MDENG"),
        ('{"db_password": "hunter2hunter2"}', "hunter2hunter2"),
        (
            "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----",
            "MIIEowIBAAKCAQEA",
        ),
    ],
)
def test_credential_shapes_are_redacted(leaky: str, secret: str) -> None:
    cleaned = clean_failure_text(leaky)
    assert secret not in cleaned
    assert REDACTED in cleaned


def test_known_secret_values_are_redacted_whatever_their_shape() -> None:
    env = {
        "WANDB_API_KEY": "0123456789abcdef0123",
        "MY_SERVICE_PASSWORD": "correct horse battery",
        "TOKENIZERS_PARALLELISM": "false-but-long-enough",  # not a secret: TOKENIZERS
        "PWD": "/home/runner/work",
        "SHORT_TOKEN": "abc",  # too short to redact exactly (would hit ordinary words)
    }
    known = secret_environment_values(env)
    assert sorted(known) == ["0123456789abcdef0123", "correct horse battery"]
    text = "wandb: key 0123456789abcdef0123 refused; pw correct horse battery in /home/runner/work"
    cleaned = clean_failure_text(text, known)
    assert "0123456789abcdef0123" not in cleaned and "correct horse" not in cleaned
    assert "/home/runner/work" in cleaned


def test_useful_text_is_kept() -> None:
    """What users need from a failure stays readable: no redaction of ordinary words."""
    text = (
        "Traceback (most recent call last):\n"
        '  File "/opt/runner/finetune.py", line 12, in run\n'
        "ValueError: pad_token=<unk> eos_token: </s>; max_tokens=512; tokenizer=/models/llama "
        "token embeddings resized; sha256:9f86d081884c7d65 at https://huggingface.co/meta-llama/x"
    )
    assert clean_failure_text(text) == text
    assert redact_secrets("the password reset token expired") == "the password reset token expired"


def test_control_characters_escapes_and_progress_bars_become_printable() -> None:
    text = (
        "\x1b[31mRuntimeError\x1b[0m: boom\x00 here\x07\n"
        " 10%|█         | 1/10\r 50%|█████     | 5/10\r 90%|█████████ | 9/10\r\n"
        "right\u202eleft \udcff bytes"
    )
    cleaned = clean_failure_text(text)
    assert cleaned.split("\n") == [
        "RuntimeError: boom\ufffd here\ufffd",
        " 90%|█████████ | 9/10",
        "right\ufffdleft \ufffd bytes",
    ]
    # It is valid Unicode text (UTF-8 encodable, JSON without surrogate escapes).
    cleaned.encode("utf-8")
    assert "\\ud" not in json.dumps(cleaned)


def test_long_lines_and_long_texts_are_bounded_keeping_head_and_tail() -> None:
    huge_line = "x" * 100_000 + " the end"
    cleaned = clean_failure_text(huge_line)
    assert len(cleaned) <= MAX_LINE_CHARS
    assert cleaned.startswith("xxx") and cleaned.endswith("the end") and "characters cut" in cleaned

    many = "training process exited with code 1; last lines:\n" + "\n".join(
        f"line {i} " + "y" * 200 for i in range(1000)
    )
    cleaned = clean_failure_text(many)
    assert len(cleaned) <= MAX_FAILURE_CHARS
    lines = cleaned.split("\n")
    assert lines[0].startswith("training process exited with code 1")
    assert "lines cut" in lines[1]
    assert lines[-1].startswith("line 999 ")


def test_empty_text_still_says_something() -> None:
    assert clean_failure_text("\x1b[0m\n\n") == "failed (no error text)"


def test_cleaning_time_grows_linearly_with_hostile_input() -> None:
    """A line of a megabyte of name-like characters (or of `?` query starts) must not make
    a pattern backtrack quadratically: ten times the text, about ten times the time (a
    quadratic pattern would take a hundred times)."""
    import time

    def seconds(size: int) -> float:
        texts = ["a" * size, "?a" * (size // 2), "mt_" + "a" * size, "://a" + ":" * size]
        started = time.perf_counter()
        for text in texts:
            clean_failure_text(text)
        return time.perf_counter() - started

    small, large = seconds(20_000), seconds(200_000)
    print(f"clean 4 x 20 kB: {small:.4f} s, 4 x 200 kB: {large:.4f} s, ratio {large / small:.1f}")
    assert large / small < 40
