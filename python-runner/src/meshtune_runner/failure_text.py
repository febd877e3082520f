"""The text of a failure report: what the API (and every user of the study) is told went wrong.

A failure's text comes from places the runner does not control: the last lines of the training
child's log (tracebacks, library warnings, tqdm progress bars), exception messages of the hub,
object store or data libraries. Before it leaves the machine it is made safe to show and safe
to store:

- **secrets redacted**: the exact values this runner knows to be secret (its API key, its
  runner token, environment variables whose names say token/secret/password/key/credential)
  and the well-known shapes of credentials (meshtune keys, Hugging Face, GitHub, AWS key ids,
  JWTs, bearer tokens, PEM private keys, a URL's password, a presigned URL's signature and
  token parameters, `name=value` pairs whose name says secret);
- **printable**: ANSI escape sequences removed, a line rewritten with carriage returns (a
  progress bar) reduced to what a terminal would show last, other control and bidirectional
  override characters, NUL (PostgreSQL refuses it) and unpaired surrogates (not Unicode text)
  replaced by U+FFFD;
- **bounded**: each line at most `MAX_LINE_CHARS` (its head and tail kept), the whole at most
  `MAX_FAILURE_CHARS`, well under the API's limit (`FailTrialDto.error`, 10,000 characters):
  the first line (the reason) and the last lines (where a traceback ends) are kept.

Hand-written rather than a secret scanner's (detect-secrets): those tell whether a line holds
a secret, with entropy heuristics that would blank out useful text (hashes, paths), while
a failure report needs the secret's span replaced and the rest kept.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping

__all__ = [
    "MAX_FAILURE_CHARS",
    "MAX_LINE_CHARS",
    "REDACTED",
    "clean_failure_text",
    "redact_secrets",
    "secret_environment_values",
]

#: The API stores up to 10,000 characters (api/src/trials/dto/trial-reports.dto.ts,
#: FailTrialDto.error); a report well under it leaves room for the prefixes added on the way
#: (`runner failure (retryable on another runner): …`).
MAX_FAILURE_CHARS = 4000
MAX_LINE_CHARS = 400
REDACTED = "[REDACTED]"

#: Environment variable names whose values are secrets (HF_TOKEN, AWS_SECRET_ACCESS_KEY,
#: MESHTUNE_API_KEY, WANDB_API_KEY, DB_PASSWORD, AZURE_STORAGE_SAS_TOKEN, …).
_SECRET_NAME = (
    r"(?:token|secret|passw(?:or)?d|api_?key|access_?key|private_?key|credentials?|auth|signature)"
)
#: ... as a whole part of the name (not TOKENIZERS_PARALLELISM, not PWD).
_SECRET_ENV_NAME = re.compile(rf"(?i)(?:^|_){_SECRET_NAME}(?:$|_)")
#: Shorter values are not worth redacting exactly (they would match ordinary words).
_MIN_SECRET_VALUE = 8

_PRIVATE_KEY_BLOCK = re.compile(
    r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----.*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|\Z)", re.S
)
_TOKEN_SHAPES = re.compile(
    r"\bmt_[a-z]{1,32}_[A-Za-z0-9_-]{20,}"  # meshtune API keys and runner tokens
    r"|\bhf_[A-Za-z0-9]{20,}"  # Hugging Face
    r"|\bgh[pousr]_[A-Za-z0-9]{30,}|\bgithub_pat_[A-Za-z0-9_]{40,}"  # GitHub
    r"|\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"  # AWS access key ids
    r"|\bAIza[0-9A-Za-z_-]{35}"  # Google API keys
    r"|\bxox[abposr]-[A-Za-z0-9-]{10,}"  # Slack
    r"|\bsk-[A-Za-z0-9_-]{20,}"  # OpenAI-style secret keys
    r"|\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+"  # JWTs
)
_AUTH_HEADER = re.compile(
    r"(?i)(authorization[\"']?\s*[:=]\s*[\"']?(?:(?:bearer|basic|token|digest)\s+)?)[^\s\"',}]+"
)
_BEARER = re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]{8,}")
_URL_PASSWORD = re.compile(r"(://[^/\s:@]{0,256}:)[^/\s@]{1,256}@")
# Every repetition before a literal is bounded: a log line of a megabyte of word characters
# must not make a pattern backtrack quadratically (tests/test_failure_text.py times it).
#: A URL query parameter whose name says it signs or authorises (S3/GCS presigned URLs:
#: X-Amz-Signature, X-Amz-Credential, X-Amz-Security-Token, X-Goog-Signature; Azure SAS: sig).
_QUERY_SECRET = re.compile(
    r"(?i)([?&][^=&\s#?]{0,64}(?:sig|signature|token|credential|key|secret|password|auth)[^=&\s#?]{0,64}=)"
    r"[^&\s#\"'<>]+"
)
#: `name=value`, `name: value`, `"name": "value"`, `--name value`, the name ending in a
#: secret word.
_NAMED_SECRET = re.compile(
    rf"(?i)(?P<word>{_SECRET_NAME})(?P<sep>[\"']?\s*[:=]\s*[\"']?|\s+)"
    r"(?P<value>[^\s\"',;&}\])]+)"
)
#: The rest of the name before the secret word (looked up from the match: a pattern that
#: started at every character of a name would scan each name once per character).
_NAME_BEFORE = re.compile(r"[A-Za-z0-9_.-]{0,64}$")
#: Names that end in a secret word and are not secrets (tokenizers' special tokens).
_NOT_SECRET_NAMES = re.compile(r"(?i)^(?:pad|eos|bos|unk|sep|cls|mask|special|add|max|num)_?token$")

_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")
#: C0 controls but tab, DEL, C1 controls, bidirectional overrides and isolates ("Trojan
#: source": text that displays other than it reads), and unpaired UTF-16 surrogates.
_UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def secret_environment_values(environ: Mapping[str, str] | None = None) -> list[str]:
    """Values of the environment variables whose names say they are secret."""
    env = os.environ if environ is None else environ
    return [
        value
        for name, value in env.items()
        if _SECRET_ENV_NAME.search(name) and len(value) >= _MIN_SECRET_VALUE
    ]


def redact_secrets(text: str, known: Iterable[str] = ()) -> str:
    """`text` with `known` secret values and credential shapes replaced by REDACTED."""
    for value in sorted(
        {v for v in known if v and len(v) >= _MIN_SECRET_VALUE}, key=len, reverse=True
    ):
        text = text.replace(value, REDACTED)
    text = _PRIVATE_KEY_BLOCK.sub(REDACTED, text)
    text = _URL_PASSWORD.sub(rf"\g<1>{REDACTED}@", text)
    text = _QUERY_SECRET.sub(rf"\g<1>{REDACTED}", text)
    text = _AUTH_HEADER.sub(rf"\g<1>{REDACTED}", text)
    text = _BEARER.sub(rf"\g<1>{REDACTED}", text)
    text = _TOKEN_SHAPES.sub(REDACTED, text)

    def named(match: re.Match[str]) -> str:
        before = _NAME_BEFORE.search(match.string, max(0, match.start() - 64), match.start())
        name = (before.group(0) if before else "") + match.group("word")
        value = match.group("value")
        if (
            _NOT_SECRET_NAMES.match(name)
            or value.startswith(REDACTED)
            or (match.group("sep").isspace() and not name.startswith("-"))
        ):
            # "token 5", "password reset" in prose: only `--name value` counts without `=`/`:`.
            return match.group(0)
        return f"{match.group('word')}{match.group('sep')}{REDACTED}"

    return _NAMED_SECRET.sub(named, text)


def _printable_line(line: str) -> str:
    line = _ANSI.sub("", line)
    if "\r" in line:
        # A progress bar redrawn in place: what the terminal showed last.
        shown = [part for part in line.split("\r") if part.strip()]
        line = shown[-1] if shown else ""
    return _UNPRINTABLE.sub("\ufffd", line).rstrip()


def _shorten(line: str, limit: int) -> str:
    if len(line) <= limit:
        return line
    tail = limit // 4
    marker = f" … [{len(line) - limit} characters cut] … "
    head = max(0, limit - tail - len(marker))
    return line[:head] + marker + line[len(line) - tail :]


def clean_failure_text(
    text: str,
    known_secrets: Iterable[str] = (),
    max_chars: int = MAX_FAILURE_CHARS,
    max_line_chars: int = MAX_LINE_CHARS,
) -> str:
    """`text` redacted, printable and bounded (see the module's docstring); never empty."""
    redacted = redact_secrets(text, known_secrets)
    lines = [_shorten(_printable_line(line), max_line_chars) for line in redacted.split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    if not lines:
        return "failed (no error text)"
    if sum(len(line) + 1 for line in lines) - 1 <= max_chars:
        return "\n".join(lines)
    # The first line says what happened; the last lines, where it happened.
    first = _shorten(lines[0], max_chars // 2)
    kept: list[str] = []
    room = max_chars - len(first) - 40
    for line in reversed(lines[1:]):
        if len(line) + 1 > room:
            break
        kept.append(line)
        room -= len(line) + 1
    cut = len(lines) - 1 - len(kept)
    return "\n".join([first, f"… [{cut} lines cut] …", *reversed(kept)])
