"""Quiet by default: libraries' output of every kind goes to the log file, the project's to the terminal."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from aurelia_local.app import logs
from aurelia_local.app.cli import _setup_logging, build_parser

# Every kind of output a library can produce, then the project's own lines.
NOISY = textwrap.dedent("""
    import logging, os, subprocess, sys, warnings
    from pathlib import Path
    from aurelia_local.app import logs

    with logs.quiet_logs(Path(sys.argv[1]), verbose=sys.argv[2] == "1"):
        logging.getLogger("somelib").warning("lib-logging-warning")
        logging.getLogger("somelib").info("lib-logging-info")
        warnings.warn("lib-future-warning", FutureWarning)
        os.write(2, b"native-fd2\\n")
        os.write(1, b"native-fd1\\n")
        print("lib-print")
        print("lib-print-stderr", file=sys.stderr)
        subprocess.run(["sh", "-c", "echo child-stderr >&2; echo child-stdout"], check=True)
        logs.user_stdout().write("our-result\\n")
        logs.user_stderr().write("our-progress\\n")
    print("after-context")
""")
LIBRARY_LINES = ["lib-logging-warning", "lib-future-warning", "native-fd2", "native-fd1", "lib-print",
                 "lib-print-stderr", "child-stderr", "child-stdout"]  # fmt: skip


def _noisy(log: Path, verbose: bool) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", NOISY, str(log), "1" if verbose else "0"],
                          capture_output=True, text=True, check=True)  # fmt: skip


def test_quiet_sends_every_library_line_to_the_log_and_ours_to_the_terminal(tmp_path: Path):
    log = tmp_path / "sub" / "run.log"
    proc = _noisy(log, verbose=False)
    assert proc.stdout == "our-result\nafter-context\n"
    assert proc.stderr == f"our-progress\nlogs in {log}\n"
    text = log.read_text()
    for line in [*LIBRARY_LINES, "lib-logging-info"]:
        assert line in text, line
    assert "our-result" not in text and "our-progress" not in text


def test_verbose_keeps_everything_on_the_terminal(tmp_path: Path):
    log = tmp_path / "run.log"
    proc = _noisy(log, verbose=True)
    terminal = proc.stdout + proc.stderr
    for line in [*LIBRARY_LINES, "our-result", "our-progress"]:
        assert line in terminal, line
    assert "logs in" not in terminal and not log.exists()


def test_until_exit_sends_the_interpreter_shutdown_to_the_log(tmp_path: Path):
    log = tmp_path / "run.log"
    code = textwrap.dedent("""
        import atexit, logging, os, sys
        from pathlib import Path
        from aurelia_local.app import logs

        atexit.register(os.write, 2, b"engine-shutdown\\n")  # like vLLM's finalizers, registered early
        with logs.quiet_logs(Path(sys.argv[1]), until_exit=True):
            logging.getLogger("somelib").warning("lib-logging-warning")
            logs.user_stdout().write("our-result\\n")
    """)
    proc = subprocess.run([sys.executable, "-c", code, str(log)], capture_output=True, text=True, check=True)
    assert (proc.stdout, proc.stderr) == ("our-result\n", f"logs in {log}\n")
    assert "engine-shutdown" in log.read_text()


def test_in_process_use_restores_fds_and_leaves_no_empty_log(tmp_path: Path, capfd):
    log = tmp_path / "quiet.log"
    with logs.quiet_logs(log) as path:
        assert path == log
        os.write(1, b"inside-1\n")
        os.write(2, b"inside-2\n")
        logs.user_stdout().write("ours\n")
    os.write(1, b"after-1\n")
    os.write(2, b"after-2\n")
    out, err = capfd.readouterr()
    assert "inside" not in out + err
    assert "ours\n" in out and "after-1\n" in out and "after-2\n" in err
    assert f"logs in {log}" in err
    assert log.read_text() == "inside-1\ninside-2\n"
    with logs.quiet_logs(tmp_path / "empty.log"):
        pass
    assert not (tmp_path / "empty.log").exists()  # nothing logged: no file, no "logs in" line
    assert "logs in" not in capfd.readouterr().err


def test_user_output_reaches_capsys_inside_the_context(tmp_path: Path, capsys):
    with logs.quiet_logs(tmp_path / "q.log"):
        logs.user_stdout().write("result line\n")
        logs.user_stderr().write("error line\n")
    captured = capsys.readouterr()
    assert captured.out == "result line\n" and captured.err == "error line\n"
    assert logs.user_stdout() is sys.stdout  # nothing left behind


def _log_of(argv: list[str]) -> Path | None:
    with _setup_logging(build_parser().parse_args(argv)) as log:
        return log


def test_where_each_command_logs(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("AURELIA_LOG_DIR", str(tmp_path / "user"))
    reason = ["reason", "v.mp4", "--question", "q", "--out"]
    assert _log_of([*reason, str(tmp_path / "r.json")]) == tmp_path / "r.log"
    assert _log_of([*reason, str(tmp_path / "r.log")]) == tmp_path / "r.log.log"
    out = tmp_path / "run"
    assert _log_of(["distill", "m.jsonl", "--out", str(out)]) == out / "aurelia.log"
    log = _log_of(["generate", "v.mp4", "--question", "q"])
    assert log.parent == tmp_path / "user" and log.name.startswith("generate-") and log.suffix == ".log"
    assert _log_of(["models", "build-tiny"]).name.startswith("models-build-tiny-")
    for light in (["config"], ["doctor"], ["models", "list"]):
        assert _log_of(light) is None
    assert _log_of(["reason", "v.mp4", "--question", "q", "--out", "r.json", "--verbose"]) is None


def test_a_failing_command_names_its_log(tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AURELIA_")}
    out = tmp_path / "g.json"
    proc = subprocess.run(
        [sys.executable, "-m", "aurelia_local.app.cli", "generate", str(tmp_path / "missing.mp4"),
         "--question", "q", "--set", f"models_dir={tmp_path}", "--out", str(out)],
        capture_output=True, text=True, env=env,
    )  # fmt: skip
    assert proc.returncode == 2
    lines = proc.stderr.splitlines()
    assert lines[0].startswith("aurelia: error: ") and lines[-1] == f"logs in {tmp_path / 'g.log'}"
    assert lines[0].removeprefix("aurelia: error: ") in (tmp_path / "g.log").read_text()
    assert proc.stdout == ""
