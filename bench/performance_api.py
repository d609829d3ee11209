"""Time the performance endpoints of a running server (docs/PERFORMANCE.md, "Measured").

    python bench/performance_api.py http://127.0.0.1:8000 <staff token> [-n 60]

Sequential requests on one keep-alive session after one warm-up; prints p50/p95 per path.
"""

from __future__ import annotations

import argparse
import statistics
import time

import requests

PUBLIC = ["/admin/login/", "/metrics", "/api/sms/performance/health/"]
STAFF = [f"/api/sms/performance/{name}/" for name in ("connections", "database", "cache", "stats")]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("base_url")
    parser.add_argument("token", help="DRF token of a staff user")
    parser.add_argument("-n", type=int, default=60)
    args = parser.parse_args()
    session = requests.Session()
    auth = {"Authorization": f"Token {args.token}"}
    for path in PUBLIC + STAFF:
        headers = auth if path in STAFF else {}
        session.get(args.base_url + path, headers=headers, timeout=30)
        times = []
        for _ in range(args.n):
            started = time.perf_counter()
            response = session.get(args.base_url + path, headers=headers, timeout=30)
            times.append((time.perf_counter() - started) * 1000)
            response.raise_for_status()
        times.sort()
        p95 = times[max(int(len(times) * 0.95) - 1, 0)]
        print(f"{path:40s} n={args.n} p50={statistics.median(times):6.1f} ms p95={p95:6.1f} ms")


if __name__ == "__main__":
    main()
