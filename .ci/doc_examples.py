#!/usr/bin/env python3
"""Runs the documentation's command examples as a new user would copy them.

Every ```sh block of README.md and of the pages docs/README.md lists, in
that order, is read (a page under docs/ that the index does not list is a
failure of .ci/check_links.py); the commands this machine can run
against a local server (grpcurl, curl, printf … | curl, promtool, the
command line) run in order against a server started from
`deploy/config/local.toml` in a fresh folder — the quick start — with the
documentation's own sample data (the records its ProvisionAccount
examples provision). Placeholders the pages write for an earlier
answer's field or what a person reads in a message (`<flowToken>`,
`<token from the mail to jane@new.org>`, `<code from the SMS to
+33788102599>`) are filled from that answer or message.

Every command must pass: exit 0, or the gRPC code a comment after it
names (`# expect: InvalidArgument`; grpcurl exits 64 + the code on an RPC
error, 1 when it cannot even send the request: an unknown method, field or
JSON — what drifts), and print what the page shows it printing on
comment lines after it (`# grpc-status: 3`, HTTP status and header lines).
The commands of a block run one at a time, each filled from what was
printed and mailed before it (see Placeholders.fill), in the shell state
of the block's assignments. Commands for other machines (kubectl, docker,
systemctl, psql, cargo, apt-get…) are listed as not run. Every RPC of the
API must have an example. Every ```toml example must pass `check-config`
over the quick start's configuration (an institution's, set over that
example institution's file). The ```ts examples are compiled by .ci/run's
clients step.

Usage: .ci/doc_examples.py BINARY   (exit status 1 on any failure)
"""

import datetime
import json
import os
import pathlib
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import tomllib
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
RUNNABLE = ("grpcurl", "curl", "printf", "echo", "promtool", "ent-identity", "export", "A=", "P=")
STILL_STREAMING = -1
GRPC_CODES = {
    "Canceled": 1, "Unknown": 2, "InvalidArgument": 3, "DeadlineExceeded": 4,
    "NotFound": 5, "AlreadyExists": 6, "PermissionDenied": 7,
    "ResourceExhausted": 8, "FailedPrecondition": 9, "Aborted": 10,
    "OutOfRange": 11, "Unimplemented": 12, "Internal": 13, "Unavailable": 14,
    "DataLoss": 15, "Unauthenticated": 16,
}


def documentation():
    """(path, text) of README.md and of each page docs/README.md links to,
    in the index's order: the order the story of the examples runs in."""
    index = ROOT / "docs" / "README.md"
    order = ["README.md"]
    for target in re.findall(r"\]\(([^)#\s]+\.md)(?:#[^)]*)?\)", index.read_text()):
        page = (index.parent / target).resolve().relative_to(ROOT).as_posix()
        if page not in order:
            order.append(page)
    return [(page, (ROOT / page).read_text()) for page in order]


def blocks(text):
    """(line number, text) of each sh block."""
    for match in re.finditer(r"```sh\n(.*?)```", text, re.S):
        yield text[: match.start()].count("\n") + 1, match.group(1)


def open_quote(text):
    """The quote still open at the end of `text` as the shell reads it
    (`'` or `"`), or None."""
    quote, escaped = None, False
    for char in text:
        if escaped:
            escaped = False
        elif quote == "'":
            quote = None if char == "'" else quote
        elif char == "\\":
            escaped = True
        elif quote == '"':
            quote = None if char == '"' else quote
        elif char in "'\"":
            quote = char
    return quote


def commands(block):
    """The block's commands as the shell reads them (a line ending with a
    backslash or a pipe, or inside a quoted JSON, goes on), each with the
    comments just before it and those just after it (what it prints, where
    the page shows that, and the code it expects). A command the block
    leaves unfinished is a SystemExit: it would not run as written."""
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
        if open_quote(text) is None and not line.rstrip().endswith(("\\", "|")):
            found.append((text.strip(), pending, []))
            pending, current = [], []
    if current:
        raise SystemExit(f"a documented command does not end: {chr(10).join(current)[:300]}")
    return found


def shown_output(after):
    """What the page shows a command prints, as lines to find in its
    output: HTTP status and header lines (`# grpc-status: 3`); a value
    written `…` only names its header."""
    lines = []
    for comment in after:
        shown = re.match(r"#\s(HTTP/\S+ \d+.*|[a-z][a-z0-9-]*: .+)$", comment)
        if shown and not comment.startswith("# expect:"):
            lines.append(shown.group(1).split("…")[0].strip())
    return lines


def expected_code(comments):
    for comment in comments:
        found = re.match(r"#\s*expect:\s*(\w+)", comment)
        if found:
            return GRPC_CODES[found.group(1)]
    return 0


class Server:
    """The quick start's server, in a folder of its own."""

    def __init__(self, binary):
        self.dir = pathlib.Path(tempfile.mkdtemp(prefix="doc-examples-"))
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
                # The quick start's `export AUTH=…`, for every block.
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
        if os.environ.get("DOC_EXAMPLES_KEEP"):
            print(f"the server's folder is kept: {self.dir}")
        else:
            shutil.rmtree(self.dir, ignore_errors=True)


class Unfilled(Exception):
    """A placeholder that no answer or message fills."""


class Placeholders:
    """What the pages leave for the reader to fill in, filled from the
    mail the server wrote and the answers it gave."""

    def __init__(self, server):
        self.server = server
        self.answers = []
        self.used = set()
        self.last_from_message = None

    def messages_to(self, recipient):
        """The text of every message written to `recipient` (mail in
        data/mail, SMS in data/sms), oldest first."""
        data = self.server.dir / "data"
        found = []
        for message in sorted(
            [*(data / "mail").glob("*.eml"), *(data / "sms").glob("*.json")],
            key=lambda path: (path.stat().st_mtime, path.name),
        ):
            text = message.read_text(errors="replace")
            text = text.replace("=\r\n", "").replace("=\n", "")
            if recipient in text:
                found.append(text)
        return found

    def outbox_settled(self, recipient):
        """Whether every message due to `recipient` has left the outbox."""
        database = sqlite3.connect(self.server.dir / "data" / "ent-identity.sqlite")
        try:
            (waiting,) = database.execute(
                "SELECT count(*) FROM outbox WHERE recipient = ? AND sent_at IS NULL"
                " AND failed_at IS NULL AND not_before <= ?",
                (recipient, datetime.datetime.now(datetime.timezone.utc).isoformat()),
            ).fetchone()
        finally:
            database.close()
        return waiting == 0

    def from_message(self, pattern, recipient):
        """What `pattern` finds in the newest message to `recipient` that
        holds one not used yet, once what is due to them was sent (the
        outbox sends within `mail.poll_interval`)."""
        for _ in range(150):
            if self.outbox_settled(recipient):
                for text in reversed(self.messages_to(recipient)):
                    found = [v for v in re.findall(pattern, text) if v not in self.used]
                    if found:
                        self.used.add(found[-1])
                        self.last_from_message = found[-1]
                        return found[-1]
            time.sleep(0.1)
        return None

    def answered(self, key):
        """The latest value of `key` in the answers printed so far."""
        for answer in reversed(self.answers):
            found = re.findall(rf'"{key}":\s*"([^"]+)"', answer)
            if found:
                return found[-1]
        return None

    def fill(self, command):
        token = r"/([0-9a-f]{64})\b"
        code = r"code\D{0,30}\b([0-9]{6,8})\b"
        rules = [
            (r"<token from the mail to ([^>]+)>", lambda to: self.from_message(token, to)),
            (r"<code from the (?:mail|SMS) to ([^>]+)>", lambda to: self.from_message(code, to)),
            (r"<the same token>", lambda: self.last_from_message),
            # `<accountId>`: that field of the latest answer printed.
            (r"<([a-z][A-Za-z]*)>", self.answered),
        ]
        for pattern, value in rules:
            for match in list(re.finditer(pattern, command)):
                filled = value(*match.groups())
                if filled is None:
                    raise Unfilled(f"nothing fills {match.group(0)}")
                command = command.replace(match.group(0), filled, 1)
        return command


def is_assignment(command):
    return re.match(r"(export\s+)?[A-Z_]+=", command) is not None


def run_block(line, block, server, placeholders, report):
    """Runs the block's commands one at a time, in one shell state: the
    block's assignments (`A='…'`) are kept for the commands after them,
    and each command is filled from what the ones before it printed."""
    # A cluster's or a host's installation: other machines, every line.
    elsewhere = re.search(r"^\s*(kubectl|useradd|systemctl|docker) ", block, re.M)
    assignments = []
    for command, comments, after in commands(block):
        if elsewhere or not command.startswith(RUNNABLE):
            report["not run"].append(f"{line}: {command[:70]}")
            continue
        try:
            command = placeholders.fill(command)
        except Unfilled as unfilled:
            report["failed"].append(f"{line}: {unfilled}: {command[:200]}")
            continue
        if is_assignment(command):
            assignments.append(command)
            continue
        expected = expected_code(after)
        if "/WatchChanges" in command:
            # A stream that goes on: it works if it is still open after
            # three seconds (timeout's own exit code).
            command, expected = f"timeout 3 {command}", STILL_STREAMING
        shell = subprocess.run(
            ["bash", "-c", "\n".join([*assignments, command])], cwd=server.dir,
            env=server.env, capture_output=True, text=True, timeout=60,
        )
        placeholders.answers.append(shell.stdout)
        output = (shell.stdout + shell.stderr).replace("\r", "")
        code = shell.returncode
        missing = [shown for shown in shown_output(after) if shown not in output]
        if missing:
            code = f"{code}, without the output the page shows: {missing}"
        wanted = {0: 0, STILL_STREAMING: 124}.get(expected, 64 + expected)
        if code == wanted:
            report["passed"] += 1
        else:
            report["failed"].append(
                f"{line}: exit {code}, expected {wanted}: {command[:200]}\n{output[-800:]}"
            )


# The story's dates are the documentation's own (a guest's stay, a departure),
# and the server runs on today's clock: a stay must end after today.
DATES_AHEAD = datetime.timedelta(days=45)


def dates_falling_due(documentation):
    """The future dates of the examples that will soon be in the past: the
    pages need them moved on before their examples are refused."""
    today = datetime.date.today()
    due = set()
    for _, block in blocks(documentation):
        for found in re.findall(r"\b(20[0-9]{2}-[01][0-9]-[0-3][0-9])\b", block):
            date = datetime.date.fromisoformat(found)
            if today <= date < today + DATES_AHEAD:
                due.add(found)
    return sorted(due)


def toml_value(value):
    """`value` written as TOML (inline)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (datetime.date, datetime.datetime, datetime.time)):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    return "{" + ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + "}"


def toml_key(key):
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key)


def toml_document(table, path=()):
    """`table` written as a TOML document: its values, then its tables."""
    lines = [f"[{'.'.join(map(toml_key, path))}]"] if path else []
    lines += [f"{toml_key(k)} = {toml_value(v)}" for k, v in table.items() if not isinstance(v, dict)]
    for key, value in table.items():
        if isinstance(value, dict):
            lines += ["", toml_document(value, (*path, key))]
    return "\n".join(lines)


def merged(base, overlay):
    """`base` with `overlay`'s keys set over it, table by table."""
    result = dict(base)
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merged(result[key], value)
        else:
            result[key] = value
    return result


def check_configuration_example(binary, snippet):
    """Why `check-config` refuses a TOML example of the documentation over
    the quick start's configuration, or None. An institution's example is
    set over that example institution's file, as its university would
    edit it (table by table: an inline table too is merged key by key, so
    an example that changes a `login` scheme writes a profile of its own);
    any other over `deploy/config/local.toml`."""
    with tempfile.TemporaryDirectory(prefix="doc-config-") as folder:
        folder = pathlib.Path(folder)
        examples = ROOT / "deploy" / "config" / "institutions"
        institutions = folder / "institutions"
        institutions.mkdir()
        files = {}
        for example in sorted(examples.glob("*.toml")):
            content = tomllib.loads(example.read_text())
            for code in content.get("institutions", {}):
                files[code] = example.name
            (institutions / example.name).write_text(example.read_text())
        overlay = folder / "overlay.toml"
        overlay.write_text("")
        for code in snippet.get("institutions", {}):
            if code not in files:
                return f"institution {code!r} is none of the examples ({', '.join(files)})"
            target = institutions / files[code]
            content = merged(tomllib.loads(target.read_text()),
                             {"institutions": {code: snippet["institutions"][code]}})
            target.write_text(toml_document(content) + "\n")
        rest = {k: v for k, v in snippet.items() if k != "institutions"}
        overlay.write_text(toml_document(rest) + "\n")
        env = dict(os.environ, ENT_IDENTITY__INSTITUTIONS_DIR=str(institutions))
        checked = subprocess.run(
            [binary, "--config", "deploy/config/local.toml", "--config", str(overlay), "check-config"],
            cwd=ROOT, env=env, capture_output=True, text=True,
        )
    if checked.returncode != 0:
        return checked.stderr.strip()[-600:]
    return None


def configuration_failures(binary, pages):
    """Every ```toml example of the pages, checked by `check-config`."""
    failures, checked = [], 0
    for name, text in pages:
        for match in re.finditer(r"```toml\n(.*?)```", text, re.S):
            line = text[: match.start()].count("\n") + 1
            try:
                snippet = tomllib.loads(match.group(1))
            except tomllib.TOMLDecodeError as error:
                failures.append(f"{name}:{line}: not TOML: {error}")
                continue
            checked += 1
            refused = check_configuration_example(binary, snippet)
            if refused:
                failures.append(f"{name}:{line}: check-config refuses it: {refused}")
    print(f"{checked} configuration examples checked by check-config, {len(failures)} refused")
    return failures


def api_methods():
    """Every RPC of the API, as `Service/Method`, from the proto files."""
    methods = set()
    for proto in sorted((ROOT / "proto" / "ent" / "identity" / "v1").glob("*.proto")):
        for service in re.finditer(r"service (\w+) \{(.*?)\n\}", proto.read_text(), re.S):
            methods |= {f"{service.group(1)}/{m}" for m in re.findall(r"rpc (\w+)\(", service.group(2))}
    return methods


def main():
    binary = sys.argv[1]
    pages = documentation()
    due = dates_falling_due("\n".join(text for _, text in pages))
    if due:
        sys.exit(f"documentation examples: move these dates on by a year (their stays would "
                 f"end before the examples run): {', '.join(due)}")
    server = Server(binary)
    placeholders = Placeholders(server)
    report = {"passed": 0, "failed": configuration_failures(str(pathlib.Path(binary).resolve()), pages), "not run": []}
    try:
        for name, text in pages:
            for line, block in blocks(text):
                run_block(f"{name}:{line}", block, server, placeholders, report)
    finally:
        server.stop()
    shown = set()
    for _, text in pages:
        for _, block in blocks(text):
            shown |= set(re.findall(r"ent\.identity\.v1\.(\w+/\w+)", block))
    for method in sorted(api_methods() - shown):
        report["failed"].append(f"{method}: no example in the documentation")
    for failure in report["failed"]:
        print(f"FAILED {failure}")
    print(f"{report['passed']} documented commands passed, {len(report['failed'])} failed, "
          f"{len(report['not run'])} for other machines not run")
    for other in report["not run"]:
        print(f"  not run: {other}")
    sys.exit(1 if report["failed"] else 0)


if __name__ == "__main__":
    main()
