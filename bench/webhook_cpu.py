"""Where a webhook request's CPU goes, per process kind: gunicorn, PostgreSQL, Redis.

Starts gunicorn as bench/webhook.py does (same settings, database and senders: run that first),
drives one path with wrk for --seconds, and reads each process's CPU time from /proc before and
after, so the figure is what the whole machine spent per request.

usage: .venv/bin/python bench/webhook_cpu.py bare|unknown|accepted \\
           --database-url postgres://postgres@127.0.0.1:5432/smsgw_bench --redis-url redis://127.0.0.1:6379/3

With --py-spy, also samples the gunicorn workers' Python (GIL held only) into var/bench/.
"""

from __future__ import annotations

import argparse
import os
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


def kind(cmd: str) -> str:
    for name in ("gunicorn", "postgres", "redis"):
        if name in cmd:
            return name
    return "other"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("path", choices=["bare", "unknown", "accepted"])
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/smsgw_bench")
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--py-spy", action="store_true")
    args = parser.parse_args()
    args.workers = args.threads = 0
    args.wrk_threads = 2
    port = webhook.free_port()
    env = webhook.server_env(args, port, tempfile.mkdtemp(prefix="smsgw-bench-metrics-"))
    work = Path(tempfile.mkdtemp(prefix="smsgw-bench-cpu-"))
    lines = work / "lines.txt"
    with lines.open("w") as f:
        for k in range(args.seconds * 5000):
            sender = webhook.sender_number(k % 10000) if args.path != "unknown" else f"+1666{k % 1000:07d}"
            signature, body = webhook.signed_line(webhook.payload(sender, f"cpu note {k} {time.time()}"))
            f.write(f"{signature}\t{body}\n")
    server = webhook.start_server(env, port, work / "gunicorn.log")
    url = f"http://127.0.0.1:{port}" + ("/bench/twiml" if args.path == "bare" else "/api/sms/webhook")
    spy = None
    try:
        subprocess.run(["wrk", "-t1", "-c8", "-d2s", url], capture_output=True, check=True)
        if args.py_spy:
            out = ROOT / "var" / "bench" / f"py-spy-{args.path}-{time.strftime('%Y%m%d-%H%M%S')}.txt"
            out.parent.mkdir(parents=True, exist_ok=True)
            record = ["py-spy", "record", "--pid", str(server.pid), "--subprocesses", "--gil", "--nonblocking"]
            spy = subprocess.Popen(
                [*record, "--format", "raw", "-r", "200", "-d", str(args.seconds - 2), "-o", str(out)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        before = cpu_by_process()
        result = webhook.run_wrk(url, lines, args)
        after = cpu_by_process()
        if spy is not None:
            spy.wait()
    finally:
        server.terminate()
        server.wait(timeout=30)
    tick = os.sysconf("SC_CLK_TCK")
    seconds: dict[str, float] = {}
    for pid, (cmd, ticks) in after.items():
        spent = ticks - before[pid][1] if pid in before else ticks
        seconds[kind(cmd)] = seconds.get(kind(cmd), 0.0) + spent / tick
    n = result["requests"]
    print(f"{args.path}: {result['rps']:.0f} req/s, {n} requests")
    for name in ("gunicorn", "postgres", "redis", "other"):
        print(f"  {name:<9} {seconds.get(name, 0.0):6.2f} s CPU = {seconds.get(name, 0.0) / n * 1000:.3f} ms/request")


if __name__ == "__main__":
    main()
