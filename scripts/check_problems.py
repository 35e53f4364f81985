#!/usr/bin/env python3
"""Validates a HumanEval-format problem file and a file of known-wrong completions.

Every canonical solution must pass its own test and every wrong completion must fail it, each in
a fresh isolated interpreter, so the suite's tests are shown to be able to fail. Standard library
only, so it runs on any machine with python3 and needs nothing the project does not ship.

Usage: check_problems.py [PROBLEMS.jsonl] [WRONG.jsonl] [--jobs N] [--timeout S] [--python P]
Exit status: 0 when clean, 1 on any violation, 2 on bad usage.
"""

import argparse
import concurrent.futures
import json
import os
import re
import subprocess
import sys
import tempfile

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_PROBLEMS = os.path.join(REPO_ROOT, "suites", "humaneval", "data", "problems.jsonl")
DEFAULT_WRONG = os.path.join(REPO_ROOT, "suites", "humaneval", "data", "wrong_solutions.jsonl")

PROBLEM_FIELDS = ("task_id", "prompt", "canonical_solution", "test", "entry_point")
WRONG_FIELDS = ("task_id", "completion", "mistake")
MIN_ASSERTS = 6
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
TASK_ID = re.compile(r"^(?P<prefix>.+)/(?P<index>0|[1-9][0-9]*)$")


def load_jsonl(path, required, violations):
    """Returns [(line_number, object)] for well-formed lines; records every malformed one."""
    rows = []
    try:
        with open(path, encoding="utf-8") as handle:
            lines = handle.read().split("\n")
    except OSError as exc:
        violations.append(f"{path}: cannot read: {exc.strerror}")
        return rows
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            violations.append(f"{where}: invalid JSON: {exc.msg}")
            continue
        if not isinstance(obj, dict):
            violations.append(f"{where}: expected a JSON object")
            continue
        bad = False
        for field in required:
            if field not in obj:
                violations.append(f"{where}: missing field '{field}'")
                bad = True
            elif not isinstance(obj[field], str):
                violations.append(f"{where}: field '{field}' must be a string")
                bad = True
            elif not obj[field].strip():
                violations.append(f"{where}: field '{field}' is empty")
                bad = True
        if not bad:
            rows.append((number, obj))
    return rows


def check_problem_shape(path, number, obj, violations):
    where = f"{path}:{number} ({obj['task_id']})"
    extra = sorted(set(obj) - set(PROBLEM_FIELDS))
    if extra:
        violations.append(f"{where}: unexpected fields {extra}")
    if not IDENTIFIER.match(obj["entry_point"]):
        violations.append(f"{where}: entry_point is not an identifier")
    elif not re.search(rf"^def {re.escape(obj['entry_point'])}\(", obj["prompt"], re.M):
        violations.append(f"{where}: prompt does not define entry_point at top level")
    if not obj["prompt"].endswith("\n"):
        violations.append(f"{where}: prompt must end with a newline")
    if not obj["canonical_solution"].startswith("    "):
        violations.append(f"{where}: canonical_solution must be a body indented 4 spaces")
    if not re.search(r"^def check\(candidate\):", obj["test"], re.M):
        violations.append(f"{where}: test does not define check(candidate)")
    asserts = len(re.findall(r"\bassert\b", obj["test"]))
    if asserts < MIN_ASSERTS:
        violations.append(f"{where}: test has {asserts} assertions, want >= {MIN_ASSERTS}")


def program(problem, completion):
    return (problem["prompt"] + completion + "\n\n" + problem["test"] + "\n\n"
            + f"check({problem['entry_point']})\n")


def run_program(python, source, timeout_s):
    """Returns ('pass'|'fail'|'timeout', detail) for one run in a fresh isolated interpreter."""
    with tempfile.TemporaryDirectory(prefix="check_problems_") as tmp:
        path = os.path.join(tmp, "program.py")
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(source)
        try:
            done = subprocess.run([python, "-I", path], cwd=tmp, stdin=subprocess.DEVNULL,
                                  capture_output=True, timeout=timeout_s,
                                  env={"PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8"})
        except subprocess.TimeoutExpired:
            return "timeout", f"no exit within {timeout_s} s"
    if done.returncode == 0:
        return "pass", ""
    tail = done.stderr.decode("utf-8", "replace").strip().splitlines()
    return "fail", (tail[-1] if tail else f"exit status {done.returncode}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("problems", nargs="?", default=DEFAULT_PROBLEMS)
    parser.add_argument("wrong", nargs="?", default=DEFAULT_WRONG)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--timeout", type=float, default=5.0)
    parser.add_argument("--python", default="/usr/bin/python3")
    parser.add_argument("--verbose", action="store_true",
                        help="print why each wrong solution fails")
    args = parser.parse_args()
    if args.jobs < 1 or args.timeout <= 0:
        parser.error("--jobs and --timeout must be positive")

    violations = []
    problems = load_jsonl(args.problems, PROBLEM_FIELDS, violations)
    wrongs = load_jsonl(args.wrong, WRONG_FIELDS, violations)

    by_id = {}
    prefixes = set()
    for number, obj in problems:
        check_problem_shape(args.problems, number, obj, violations)
        if obj["task_id"] in by_id:
            violations.append(f"{args.problems}:{number}: duplicate task_id {obj['task_id']}")
            continue
        by_id[obj["task_id"]] = obj
        match = TASK_ID.match(obj["task_id"])
        if not match:
            violations.append(f"{args.problems}:{number}: task_id {obj['task_id']!r} "
                              "is not PREFIX/INDEX")
            continue
        prefixes.add(match["prefix"])
        expected = f"{match['prefix']}/{len(by_id) - 1}"
        if obj["task_id"] != expected:
            violations.append(f"{args.problems}:{number}: task_id {obj['task_id']} out of "
                              f"order, expected {expected}")
    if len(prefixes) > 1:
        violations.append(f"{args.problems}: mixed task_id prefixes {sorted(prefixes)}")

    wrong_count = {task_id: 0 for task_id in by_id}
    runnable_wrongs = []
    for number, obj in wrongs:
        where = f"{args.wrong}:{number} ({obj['task_id']})"
        extra = sorted(set(obj) - set(WRONG_FIELDS))
        if extra:
            violations.append(f"{where}: unexpected fields {extra}")
        if "\n" in obj["mistake"].strip():
            violations.append(f"{where}: mistake must be one line")
        problem = by_id.get(obj["task_id"])
        if problem is None:
            violations.append(f"{where}: no such task_id in {args.problems}")
            continue
        if obj["completion"].strip() == problem["canonical_solution"].strip():
            violations.append(f"{where}: completion equals the canonical solution")
            continue
        try:
            compile(problem["prompt"] + obj["completion"], where, "exec")
        except SyntaxError as exc:
            violations.append(f"{where}: completion is not valid Python: {exc.msg}")
            continue
        wrong_count[obj["task_id"]] += 1
        runnable_wrongs.append((where, problem, obj))
    for task_id, count in wrong_count.items():
        if count == 0:
            violations.append(f"{args.wrong}: no wrong solution for {task_id}")

    canonical_pass = 0
    wrong_fail = 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        canonical_jobs = {
            pool.submit(run_program, args.python,
                        program(obj, obj["canonical_solution"]), args.timeout): obj["task_id"]
            for obj in by_id.values()}
        wrong_jobs = {
            pool.submit(run_program, args.python,
                        program(problem, obj["completion"]), args.timeout): where
            for where, problem, obj in runnable_wrongs}
        for future in concurrent.futures.as_completed(canonical_jobs):
            outcome, detail = future.result()
            if outcome == "pass":
                canonical_pass += 1
            else:
                verb = "fails" if outcome == "fail" else "timed out"
                violations.append(f"{canonical_jobs[future]}: canonical solution {verb}: {detail}")
        for future in concurrent.futures.as_completed(wrong_jobs):
            outcome, detail = future.result()
            if outcome == "fail":
                wrong_fail += 1
                if args.verbose:
                    print(f"{wrong_jobs[future]}: fails as it should: {detail}")
            elif outcome == "pass":
                violations.append(f"{wrong_jobs[future]}: wrong solution passes the test")
            else:
                # A test that only catches a bug by hanging is too slow to run at scale.
                violations.append(f"{wrong_jobs[future]}: wrong solution timed out: {detail}")

    for line in sorted(violations):
        print(f"violation: {line}", file=sys.stderr)
    sys.stderr.flush()
    print(f"{len(by_id)} problems: {canonical_pass} canonical pass; "
          f"{len(runnable_wrongs)} wrong solutions: {wrong_fail} fail"
          + (f"; {len(violations)} violations" if violations else ""))
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
