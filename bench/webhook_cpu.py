"""Where a webhook request's CPU goes, per process kind: gunicorn, PostgreSQL, Redis.

Starts gunicorn as bench/webhook.py does (same settings, database and senders: run that first),
drives each path in turn with wrk for --seconds, --rounds times, and reads each process's CPU
time from /proc before and after, so the figure is what the machine spent per request. Only the
bench database's PostgreSQL backends count (other checkouts' tests share the server); wrk and
everything else show as "other", outside the total. With "bare" among the paths it prints each
path's ratio by CPU: bare's CPU per request over the path's, the throughput ratio the path
would have on a machine given to it alone (bench/webhook.py measures throughput itself).

usage: .venv/bin/python bench/webhook_cpu.py bare unknown accepted [--rounds 3] \\
           --database-url postgres://postgres@127.0.0.1:5432/smsgw_bench --redis-url redis://127.0.0.1:6379/3

With --py-spy, also samples the gunicorn workers' Python (GIL held only) into var/bench/.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import webhook  # noqa: E402


def cpu_by_process() -> dict[str, tuple[str, int]]:
    found = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            cmd = Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        found[pid] = (cmd or stat.split("(", 1)[1].split(")", 1)[0], int(fields[11]) + int(fields[12]))
    return found


def kind(cmd: str, database: str) -> str:
    """gunicorn, redis, postgres (the bench database's backends and the server's own background
    processes), or other: wrk, and whatever else runs on the machine, other databases' backends
    included (tests of other checkouts share this PostgreSQL)."""
    for name in ("gunicorn", "redis"):
        if name in cmd:
            return name
    if cmd.startswith("postgres"):
        is_backend = cmd.startswith("postgres: ") and "(" in cmd  # "postgres: user db host(port) state"
        return "postgres" if not is_backend or f" {database} " in cmd else "other"
    return "other"


def measure(
    path: str, url: str, lines: Path, args: argparse.Namespace, *, database: str, server_pid: int, skip: int
) -> dict[str, float]:
    """One wrk run on ``url``: requests/s and CPU ms per request for each kind of process."""
    spy = None
    if args.py_spy:
        out = ROOT / "var" / "bench" / f"py-spy-{path}-{time.strftime('%Y%m%d-%H%M%S')}.txt"
        out.parent.mkdir(parents=True, exist_ok=True)
        record = ["py-spy", "record", "--pid", str(server_pid), "--subprocesses", "--gil", "--nonblocking"]
        spy = subprocess.Popen(
            [*record, "--format", "raw", "-r", "200", "-d", str(args.seconds - 2), "-o", str(out)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    before = cpu_by_process()
    result = webhook.run_wrk(url, lines, args, skip=skip)
    after = cpu_by_process()
    if spy is not None:
        spy.wait()
    tick = os.sysconf("SC_CLK_TCK")
    seconds: dict[str, float] = {}
    for pid, (cmd, ticks) in after.items():
        spent = ticks - before[pid][1] if pid in before else ticks
        name = kind(cmd, database)
        seconds[name] = seconds.get(name, 0.0) + spent / tick
    n = result["requests"]
    row = {"rps": result["rps"], "requests": n}
    row.update({name: seconds.get(name, 0.0) / n * 1000 for name in ("gunicorn", "postgres", "redis", "other")})
    row["total"] = row["gunicorn"] + row["postgres"] + row["redis"]
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="+", choices=["bare", "unknown", "accepted"])
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/smsgw_bench")
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--py-spy", action="store_true")
    args = parser.parse_args()
    args.workers = args.threads = 0
    args.wrk_threads = 2
    database = args.database_url.rsplit("/", 1)[-1]
    port = webhook.free_port()
    env = webhook.server_env(args, port, tempfile.mkdtemp(prefix="smsgw-bench-metrics-"))
    work = Path(tempfile.mkdtemp(prefix="smsgw-bench-cpu-"))
    files: dict[str, Path] = {}
    for path in args.paths:
        files[path] = work / f"{path}.txt"
        with files[path].open("w") as f:
            for k in range(args.seconds * 5000 * args.rounds):
                sender = webhook.sender_number(k % 10000) if path != "unknown" else f"+1666{k % 1000:07d}"
                signature, body = webhook.signed_line(webhook.payload(sender, f"cpu note {k} {time.time()}"))
                f.write(f"{signature}\t{body}\n")
    server = webhook.start_server(env, port, work / "gunicorn.log")
    base = f"http://127.0.0.1:{port}"
    urls = {path: base + ("/bench/twiml" if path == "bare" else "/api/sms/webhook") for path in args.paths}
    rows: dict[str, list[dict[str, float]]] = {path: [] for path in args.paths}
    try:
        for url in set(urls.values()):
            subprocess.run(["wrk", "-t1", "-c8", "-d2s", url], capture_output=True, check=True)
        for n in range(args.rounds):
            for path in args.paths:
                # Each round sends new lines: a later round must not replay stored MessageSids.
                skip = n * args.seconds * 5000
                rows[path].append(
                    measure(path, urls[path], files[path], args, database=database, server_pid=server.pid, skip=skip)
                )
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(
        f"{'path':<10}{'req/s':>8}{'gunicorn':>10}{'postgres':>10}{'redis':>8}{'total':>8}{'other':>8}  (CPU ms per request)"
    )
    medians: dict[str, float] = {}
    for path, measured in rows.items():
        for row in measured:
            print(
                f"{path:<10}{row['rps']:>8.0f}{row['gunicorn']:>10.3f}{row['postgres']:>10.3f}"
                f"{row['redis']:>8.3f}{row['total']:>8.3f}{row['other']:>8.3f}"
            )
        medians[path] = statistics.median(row["total"] for row in measured)
    if "bare" in medians:
        for path in medians:
            if path != "bare":
                print(f"{path}/bare by CPU = {medians['bare'] / medians[path]:.0%} (bare's CPU per request / {path}'s)")


if __name__ == "__main__":
    main()
