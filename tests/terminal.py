"""A command on a real pseudo-terminal, as a person meets it: prompts, hidden input, colours and log formats
that depend on isatty()."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import time


class Terminal:
    """A command on a pseudo-terminal: wait for a prompt, type an answer, read everything it showed."""

    def __init__(self, command: list[str], env: dict[str, str]) -> None:
        self.master, slave = os.openpty()
        # setsid --ctty makes the pty the command's controlling terminal, as in a real login shell: hidden
        # input (getpass) needs one to turn echo off.
        self.process = subprocess.Popen(["setsid", "--ctty", *command], stdin=slave, stdout=slave,
                                        stderr=slave, env=env, close_fds=True)  # fmt: skip
        os.close(slave)
        self.shown = ""

    def _read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return True
        try:
            chunk = os.read(self.master, 4096)
        except OSError:  # EIO: the command exited and closed the terminal
            return False
        if not chunk:
            return False
        self.shown += chunk.decode(errors="replace")
        return True

    def expect(self, text: str, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.shown:
            if time.monotonic() > deadline or not self._read(0.2):
                raise AssertionError(f"never showed {text!r}; showed: {self.shown!r}")

    def type(self, answer: str) -> None:
        os.write(self.master, (answer + "\n").encode())

    def interrupt(self) -> None:
        """Ctrl-C, as a person at the terminal stops a server."""
        self.process.send_signal(signal.SIGINT)

    def finish(self, timeout: float = 20) -> int:
        deadline = time.monotonic() + timeout
        while self._read(0.2) and time.monotonic() < deadline:
            if self.process.poll() is not None and not select.select([self.master], [], [], 0)[0]:
                break
        os.close(self.master)
        return self.process.wait(timeout=timeout)
