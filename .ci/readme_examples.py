#!/usr/bin/env python3
"""Runs the README's command examples as a new user would copy them.

Every ```sh block of README.md is read; the commands this machine can run
against a local server (grpcurl, curl, printf … | curl, promtool, the
command line) run in order, in one shell per block, against a server
started from `deploy/config/local.toml` in a fresh folder — the README's
quick start — with the README's own sample data (the records its
ProvisionAccount examples provision). Placeholders the README writes for
what a person reads in a mail or an earlier answer (`<token from the
mail>`, `<from FindPerson>`, `…`) are filled from that mail or answer.

A command passes when it exits 0, or with the gRPC code its block says it
expects on a comment line `# expect: InvalidArgument` (grpcurl exits 64 +
the code on an RPC error, 1 when it cannot even send the request: an
unknown method, field or JSON — what drifts), and prints what the README
shows it printing on comment lines after it (`# grpc-status: 3`, HTTP
status and header lines). Not yet driven: the journeys
that need a secret only a person reads (an activation key typed from a
certificate, the code of an SMS, the password chosen during activation).
A command that still holds such a placeholder after filling, or that uses
an account only such a journey activates, must reach the server (any gRPC
answer) but may be refused; the report counts them. Commands for other
machines (kubectl, docker, systemctl, psql, cargo, apt-get…) are listed as
not run.

Usage: .ci/readme_examples.py BINARY   (exit status 1 on any failure)
"""

import json
import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
RUNNABLE = ("grpcurl", "curl", "printf", "promtool", "ent-identity", "export", "A=", "P=")
STILL_STREAMING = -1
GRPC_CODES = {
    "Canceled": 1, "Unknown": 2, "InvalidArgument": 3, "DeadlineExceeded": 4,
    "NotFound": 5, "AlreadyExists": 6, "PermissionDenied": 7,
    "ResourceExhausted": 8, "FailedPrecondition": 9, "Aborted": 10,
    "OutOfRange": 11, "Unimplemented": 12, "Internal": 13, "Unavailable": 14,
    "DataLoss": 15, "Unauthenticated": 16,
}


def blocks(readme):
    """(line number, text) of each sh block."""
    for match in re.finditer(r"```sh\n(.*?)```", readme, re.S):
        yield readme[: match.start()].count("\n") + 1, match.group(1)


def commands(block):
    """The block's commands as the shell reads them (a line ending with a
    backslash, or inside a quoted JSON, goes on), each with the comments
    just before it and those just after it (what it prints, where the
    README shows that)."""
    found, pending, current = [], [], []
    for line in block.split("\n"):
        if not current:
            stripped = line.strip()
            if not stripped:
                continue
            if stripped.startswith("#"):
                if found:
                    found[-1][2].append(stripped)
                pending.append(stripped)
                continue
        current.append(line)
        text = "\n".join(current)
        if text.count("'") % 2 == 0 and not line.rstrip().endswith("\\"):
            found.append((text.strip(), pending, []))
            pending, current = [], []
    return found


def shown_output(after):
    """What the README shows a command prints, as lines to find in its
    output: HTTP status and header lines (`# grpc-status: 3`); a value
    written `…` only names its header."""
    lines = []
    for comment in after:
        shown = re.match(r"#\s(HTTP/\S+ \d+.*|[a-z][a-z0-9-]*: .+)$", comment)
        if shown:
            lines.append(shown.group(1).split("…")[0].strip())
    return lines


# What only a person's journey gives: secrets read on paper or in an SMS,
# the literal examples the README writes for them, and the accounts that
# journey activates (README, "The activation journey").
JOURNEY_ONLY = re.compile(
    r"<[^>]*>|…|ABCD-EFGH-JKLM|\"code\":\"12345678\"|0193"
    r"|jane\.doe@umontpellier\.fr|22012345T|lmartin001|\$A\b"
)


def expected_code(comments):
    for comment in comments:
        found = re.match(r"#\s*expect:\s*(\w+)", comment)
        if found:
            return GRPC_CODES[found.group(1)]
    return 0


class Server:
    """The quick start's server, in a folder of its own."""

    def __init__(self, binary):
        self.dir = pathlib.Path(tempfile.mkdtemp(prefix="readme-"))
        (self.dir / "deploy").symlink_to(ROOT / "deploy")
        env = dict(os.environ)
        env.update({
            "ENT_IDENTITY__GRPC_WEB__ALLOWED_ORIGINS": '["https://ent.u-bordeaux-montaigne.fr"]',
            "ENT_IDENTITY__METRICS__LISTEN": "127.0.0.1:9464",
        })
        bindir = self.dir / "bin"
        bindir.mkdir()
        (bindir / "ent-identity").symlink_to(pathlib.Path(binary).resolve())
        self.env = env
        self.env["PATH"] = f"{bindir}:{env['PATH']}"
        self.process = subprocess.Popen(
            [str(pathlib.Path(binary).resolve()), "--config", "deploy/config/local.toml", "serve"],
            cwd=self.dir, env=env, stdout=open(self.dir / "serve.log", "w"),
            stderr=subprocess.STDOUT,
        )
        token = self.dir / "data" / "local-admin.token"
        for _ in range(300):
            if token.exists() and self.health_ok():
                # The README's `export AUTH=…`, for every block.
                self.env["AUTH"] = f"authorization: Bearer {token.read_text().strip()}"
                return
            time.sleep(0.1)
        raise SystemExit(f"the server did not start:\n{(self.dir / 'serve.log').read_text()}")

    def health_ok(self):
        probe = subprocess.run(
            ["grpcurl", "-plaintext", "127.0.0.1:50051", "grpc.health.v1.Health/Check"],
            capture_output=True, text=True,
        )
        return probe.returncode == 0 and "SERVING" in probe.stdout

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=30)
        shutil.rmtree(self.dir, ignore_errors=True)


class Placeholders:
    """What the README leaves for the reader to fill in, filled from the
    mail the server wrote and the answers it gave."""

    def __init__(self, server):
        self.server = server
        self.answers = []

    def newest_mail_token(self):
        mails = sorted((self.server.dir / "data" / "mail").glob("*.eml"), key=os.path.getmtime)
        for mail in reversed(mails):
            text = mail.read_text(errors="replace").replace("=\n", "").replace("=\r\n", "")
            found = re.findall(r"/([0-9a-f]{64})\b", text)
            if found:
                return found[-1]
        return None

    def answered(self, key):
        for answer in reversed(self.answers):
            found = re.search(rf'"{key}":\s*"([^"]+)"', answer)
            if found:
                return found.group(1)
        return None

    def fill(self, command):
        rules = [
            (r"<token from the (?:mail|link)>|<64 hex>", self.newest_mail_token),
            (r"<from FindPerson>|<the staff member>", lambda: self.answered("accountId")),
            (r"<token>", lambda: self.answered("flowToken")),
            # The key printed on Jean Martin's certificate, Jane Doe's
            # provisional password: what ProvisionAccount answered.
            (r"ABCD-EFGH-JKLM", lambda: self.answered("activationKey")),
            (r'(?<="provisional_password":")…', lambda: self.answered("provisionalPassword")),
        ]
        for pattern, value in rules:
            if re.search(pattern, command):
                filled = value()
                if filled:
                    command = re.sub(pattern, filled, command)
        return command


def run_block(line, block, server, placeholders, report):
    script = []
    checks = []
    # A cluster's or a host's installation: other machines, every line.
    elsewhere = re.search(r"^\s*(kubectl|useradd|systemctl|docker) ", block, re.M)
    for command, comments, after in commands(block):
        if elsewhere or not command.startswith(RUNNABLE):
            report["not run"].append(f"README:{line}: {command[:70]}")
            continue
        journey_only = bool(JOURNEY_ONLY.search(command))
        command = placeholders.fill(command)
        expected = expected_code(comments)
        if "/WatchChanges" in command:
            # A stream that goes on: it works if it is still open after
            # three seconds (timeout's own exit code).
            command, expected = f"timeout 3 {command}", STILL_STREAMING
        index = len(checks)
        checks.append((command, expected, journey_only, shown_output(after)))
        script.append(f"echo \"__start__ {index}\"\n{command}\necho \"__exit__ {index} $?\"")
    if not checks:
        return
    shell = subprocess.run(
        ["bash", "-c", "\n".join(script)], cwd=server.dir, env=server.env,
        capture_output=True, text=True, timeout=120,
    )
    placeholders.answers.append(shell.stdout)
    codes = {int(i): int(c) for i, c in re.findall(r"__exit__ (\d+) (\d+)", shell.stdout)}
    printed = dict(re.findall(r"__start__ (\d+)\n(.*?)__exit__ \1 ", shell.stdout, re.S))
    for index, (command, expected, journey_only, shown) in enumerate(checks):
        code = codes.get(index)
        output = printed.get(str(index), "").replace("\r", "")
        missing = [line for line in shown if line not in output]
        if missing:
            code = f"{code}, without the output the README shows: {missing}"
        wanted = {0: 0, STILL_STREAMING: 124}.get(expected, 64 + expected)
        if command.startswith(("export", "A=", "P=")):
            wanted = 0
        if code == wanted:
            report["passed"] += 1
        elif journey_only and code is not None and 64 < code <= 80:
            report["refused"] += 1
        else:
            report["failed"].append(
                f"README:{line}: exit {code}, expected {wanted}: {command[:160]}\n{shell.stderr[-800:]}"
            )


def main():
    binary = sys.argv[1]
    readme = (ROOT / "README.md").read_text()
    server = Server(binary)
    placeholders = Placeholders(server)
    report = {"passed": 0, "refused": 0, "failed": [], "not run": []}
    try:
        for line, block in blocks(readme):
            run_block(line, block, server, placeholders, report)
    finally:
        server.stop()
    for failure in report["failed"]:
        print(f"FAILED {failure}")
    print(f"{report['passed']} README commands passed, {len(report['failed'])} failed, "
          f"{report['refused']} refused for want of a person's journey (not yet driven), "
          f"{len(report['not run'])} for other machines not run")
    for other in report["not run"]:
        print(f"  not run: {other}")
    sys.exit(1 if report["failed"] else 0)


if __name__ == "__main__":
    main()
