"""The docs' code blocks, and a reader who follows them: every command typed into bash on a pseudo-terminal.

``blocks`` finds a document's fenced code blocks (optionally under one ``## heading``); ``commands`` joins a shell
block's backslash continuations. ``Reader`` follows a document as a new user does, block by block in order:

- each shell command is typed into an interactive bash (one per person, each with a HOME of their own, so
  ``~/.hokusai/config`` starts empty), with the documented hosted URLs replaced by the local services;
- prompts are answered as the user would answer them: the service URL, the admin token, the key they were given
  (the last whole key any command printed), ``y``; ``--key -`` gets the key pasted; a ``<key-id>`` is the id the
  last ``create-key`` printed;
- each Python block is saved to a file and run with ``python3`` in the same shell, so it sees what the commands
  before it exported and stored; lines ``# → text`` under a ``print`` are output it must show;
- every command and block must exit 0.

The test describes the rest in a ``Walkthrough``: the URLs it replaces, the people (a fresh HOME each, and what
their machine has set) and at which command each takes over, shell variables a script's line expects to find set,
what a Python fragment assumes is already defined, what happens in the world before a step (a server going down),
and what cannot run here at all, with the reason (``skipped``). Every entry must still match a command or block of
the document (``stale_entries``), so the tables cannot go stale, and anything not in them runs by default.
"""

from __future__ import annotations

import codecs
import contextlib
import fcntl
import os
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.DOTALL | re.MULTILINE)


@dataclass(frozen=True)
class Block:
    language: str
    text: str
    line: int  # of the opening fence, 1-based

    def commands(self) -> list[str]:
        return commands(self.text)


def section(text: str, heading: str) -> str:
    """The ``## heading`` section of a markdown text, up to the next ``## ``."""
    start = text.index(f"\n## {heading}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else None]


def blocks(doc: Path, *languages: str, heading: str | None = None) -> list[Block]:
    """The fenced blocks of ``doc`` in these languages (every block when none is named), in order."""
    text = doc.read_text()
    start, end = 0, len(text)
    if heading is not None:
        part = section(text, heading)
        start = text.index(part)
        end = start + len(part)
    found = []
    for match in FENCE.finditer(text, start, end):
        if not languages or match.group(1) in languages:
            found.append(Block(match.group(1), match.group(2), text.count("\n", 0, match.start()) + 1))
    return found


def commands(block: str) -> list[str]:
    """The block's lines, with backslash continuations joined into one command each."""
    joined: list[str] = []
    pending = ""
    for line in block.splitlines():
        pending += line
        if line.rstrip().endswith("\\"):
            pending += "\n"
            continue
        joined.append(pending)
        pending = ""
    return joined


# ------------------------------------------------------------------------------------------- the terminal

ANSI = re.compile(r"\x1b(?:\[[0-9;?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")
PS1 = "<<docs-exit:$?>> "
DONE = re.compile(r"<<docs-exit:(\d+)>> ")
WHOLE_KEY = re.compile(r"\bhk_(?:live|test|dev)_[0-9A-Za-z]{38}\b")
KEY_ID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")
# The hokusai command's prompts, and which of the reader's values answers each.
PROMPTS = (
    (re.compile(r"Auth service URL \[[^\]\n]*\]: $"), "url"),
    (re.compile(r"Admin token: $"), "admin_token"),  # hidden: getpass flushes what was typed before it asked
    (re.compile(r"API key: $"), "key"),
    (re.compile(r"\[y/N\]: $"), "yes"),
)
PASTES_THE_KEY = re.compile(r"--key -(\s|$)")  # reads the key from stdin: no prompt, the reader pastes it
PLACEHOLDER = re.compile(r"<([a-z][a-z-]*)>")
EXPECTED_OUTPUT = re.compile(r"^# → (.+)$", re.MULTILINE)


def shown(raw: str) -> str:
    """What a person sees of terminal output: no colour codes, no carriage returns."""
    return ANSI.sub("", raw).replace("\r", "")


class Shell:
    """An interactive bash on a pseudo-terminal (its controlling terminal, so hidden prompts work)."""

    def __init__(self, environment: Mapping[str, str], cwd: Path) -> None:
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        self.process = subprocess.Popen(
            ["setsid", "--ctty", "bash", "--norc", "--noprofile", "--noediting", "-i"],
            stdin=slave, stdout=slave, stderr=slave, env={**environment, "PS1": PS1, "PS2": ""}, cwd=cwd,
            close_fds=True,
        )  # fmt: skip
        os.close(slave)
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._raw = ""
        self.transcript = ""
        try:
            self._until_done(time.monotonic() + 30, {}, "the shell's first prompt")
        except AssertionError:
            self.close()
            raise

    def _read(self, timeout: float) -> bool:
        """Read what is there within ``timeout``; False when nothing came."""
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return False
        try:
            chunk = os.read(self.master, 65536)
        except OSError:  # EIO: the shell exited
            chunk = b""
        if not chunk:
            raise AssertionError(f"the shell exited; it showed:\n{self.transcript}{shown(self._raw)}")
        self._raw += self._decoder.decode(chunk)
        return True

    def type(self, text: str) -> None:
        os.write(self.master, (text + "\n").encode())

    def _until_done(self, deadline: float, answers: Mapping[str, str], what: str) -> tuple[int, str]:
        answered = 0
        while True:
            came = self._read(0.2)
            text = shown(self._raw)
            done = DONE.search(text, answered)
            if done is not None:
                self.transcript += text[: done.end()]
                self._raw = ""
                return int(done.group(1)), text[: done.start()]
            if not came:  # quiet: waiting for an answer?
                for prompt, value in PROMPTS:
                    if prompt.search(text, answered):
                        assert value in answers, f"{what} asks for the {value}, which the reader does not have yet"
                        self.type(answers[value])
                        answered = len(text)
                        break
            if time.monotonic() > deadline:
                raise AssertionError(f"{what} did not finish; the terminal showed:\n{self.transcript}{text}")

    def run(self, command: str, answers: Mapping[str, str], *, paste: str | None, timeout: float) -> tuple[int, str]:
        """Type ``command``, answer its prompts, wait for the shell's next prompt: (exit status, what it showed)."""
        self.type(command)
        if paste is not None:
            self.type(paste)
        return self._until_done(time.monotonic() + timeout, answers, command)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.type("exit")
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        os.close(self.master)


# ------------------------------------------------------------------------------------------- the reader


@dataclass
class Step:
    person: str
    kind: str  # "sh" or "python"
    text: str  # as the document has it
    line: int  # in the document: the command's, or a Python block's first
    skipped: str | None = None  # why it was not run
    output: str = ""
    seconds: float = 0.0


@dataclass
class Walkthrough:
    """How a test follows one document: what it replaces, who runs what, and what it cannot run."""

    doc: Path
    replace: dict[str, str]  # documented URL -> the local one
    people: dict[str, dict[str, str]]  # person -> their machine's environment (besides PATH, HOME, ...)
    first: str  # the person who starts reading
    values: dict[str, str]  # the reader's answers: url, admin_token, key (updated by what commands print)
    switch: dict[str, str] = field(default_factory=dict)  # a command or block starting so -> who runs it on
    skipped: dict[str, str] = field(default_factory=dict)  # a command or block starting so -> why not run
    preludes: dict[str, str] = field(default_factory=dict)  # a Python fragment starting so -> what it assumes
    given: dict[str, str] = field(default_factory=dict)  # shell variables the reader has (not exported)
    before: dict[str, Callable[[], object]] = field(default_factory=dict)  # what happens in the world first


def _matching(table: Mapping[str, T], text: str) -> T | None:
    return next((value for start, value in table.items() if text.strip().startswith(start)), None)


def stale_entries(walk: Walkthrough) -> list[str]:
    """Entries of the walkthrough's tables that no command or Python block of the document starts with."""
    items = [command.strip() for block in blocks(walk.doc, "sh") for command in block.commands()]
    items += [block.text.strip() for block in blocks(walk.doc, "python")]
    tables: dict[str, Mapping[str, object]] = {"switch": walk.switch, "skipped": walk.skipped,
                                               "preludes": walk.preludes, "before": walk.before}  # fmt: skip
    return [f"{name}: {start!r}" for name, table in tables.items() for start in table
            if not any(item.startswith(start) for item in items)]  # fmt: skip


class Reader:
    """Follows a ``Walkthrough``: one shell per person, in ``work/<person>``."""

    def __init__(self, walk: Walkthrough, work: Path) -> None:
        self.walk = walk
        self.work = work
        self.values = {"yes": "y", **walk.values}
        self.shells: dict[str, Shell] = {}
        self.steps: list[Step] = []

    def home(self, person: str) -> Path:
        return self.work / person

    def _shell(self, person: str) -> Shell:
        if person not in self.shells:
            home = self.home(person)
            (home / "project").mkdir(parents=True)
            path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"  # this venv's hokusai, python3
            environment = {"PATH": path, "HOME": str(home), "LANG": "C.UTF-8", "TERM": "xterm-256color"}
            environment |= self.walk.people[person]
            shell = Shell(environment, home / "project")
            for name, value in self.walk.given.items():
                status, _ = shell.run(f"{name}='{value}'", {}, paste=None, timeout=10)
                assert status == 0
            self.shells[person] = shell
        return self.shells[person]

    def _local(self, text: str) -> str:
        for documented, local in self.walk.replace.items():
            text = text.replace(documented, local)
        return text

    def _run(self, step: Step, command: str, timeout: float) -> None:
        shell = self._shell(step.person)
        started = time.monotonic()
        paste = self.values["key"] if PASTES_THE_KEY.search(command) else None
        status, output = shell.run(command, self.values, paste=paste, timeout=timeout)
        step.output, step.seconds = output, time.monotonic() - started
        keys = WHOLE_KEY.findall(output)
        if keys:
            self.values["key"] = keys[-1]
            if "create-key" in command and (key_id := KEY_ID.search(output)):
                self.values["key-id"] = key_id.group(0)
        assert status == 0, (f"{self.walk.doc.name} line {step.line}: `{command}` exited with {status}; "
                             f"{step.person}'s terminal showed:\n{shell.transcript}")  # fmt: skip

    def __enter__(self) -> Reader:
        return self

    def __exit__(self, *_exc: object) -> None:
        for shell in self.shells.values():
            shell.close()

    def follow(self) -> list[Step]:
        """Run the document, block by block; every step, run or skipped."""
        person = self.walk.first
        for block in blocks(self.walk.doc, "sh", "python"):
            line = block.line  # the fence's
            for item in block.commands() if block.language == "sh" else [block.text]:
                first, line = line + 1, line + item.count("\n") + 1
                person = _matching(self.walk.switch, item) or person
                if block.language == "sh" and (not item.strip() or item.lstrip().startswith("#")):
                    continue  # nothing to type
                step = Step(person, block.language, item, first, _matching(self.walk.skipped, item))
                self.steps.append(step)
                if step.skipped is None:
                    if (happens := _matching(self.walk.before, item)) is not None:
                        happens()
                    self._step(step)
        return self.steps

    def _step(self, step: Step) -> None:
        if step.kind == "sh":
            command = PLACEHOLDER.sub(lambda m: self.values.get(m.group(1), m.group(0)), self._local(step.text))
            self._run(step, command, timeout=120)
            return
        prelude = _matching(self.walk.preludes, step.text) or ""
        self._shell(step.person)  # a document may open with a Python block: the person's directory must exist
        script = self.home(step.person) / "project" / f"{self.walk.doc.stem}-line-{step.line}.py"
        script.write_text(prelude.format(**self.values) + self._local(step.text))
        self._run(step, f"python3 {script.name}", timeout=300)
        for expected in EXPECTED_OUTPUT.findall(step.text):
            assert expected in step.output, f"{script.name} should print {expected!r}; it showed:\n{step.output}"

    def transcript(self) -> str:
        return "\n".join(f"--- {person}\n{shell.transcript}" for person, shell in self.shells.items())
