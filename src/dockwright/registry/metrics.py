"""Prometheus text exposition of the request counters, byte counters and latency histograms."""

from __future__ import annotations

import threading
from collections import defaultdict

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


def _esc(v: str) -> str:
    return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class Metrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: dict[tuple[str, str, int], int] = defaultdict(int)
        self.bytes_in: dict[str, int] = defaultdict(int)
        self.bytes_out: dict[str, int] = defaultdict(int)
        self.hist: dict[str, list[int]] = {}
        self.hist_sum: dict[str, float] = defaultdict(float)
        self.hist_count: dict[str, int] = defaultdict(int)

    def observe(
        self, route: str, method: str, status: int, seconds: float, bytes_in: int, bytes_out: int
    ) -> None:
        with self._lock:
            self.requests[(route, method, status)] += 1
            self.bytes_in[route] += bytes_in
            self.bytes_out[route] += bytes_out
            counts = self.hist.setdefault(route, [0] * len(BUCKETS))
            for i, b in enumerate(BUCKETS):
                if seconds <= b:
                    counts[i] += 1
            self.hist_sum[route] += seconds
            self.hist_count[route] += 1

    def render(self) -> str:
        out: list[str] = []
        with self._lock:
            out.append("# HELP registry_http_requests_total Requests served, by route, method and status.")
            out.append("# TYPE registry_http_requests_total counter")
            for (route, method, status), n in sorted(self.requests.items()):
                out.append(
                    f'registry_http_requests_total{{route="{_esc(route)}",method="{method}",'
                    f'code="{status}"}} {n}'
                )
            for name, data, help_ in (
                ("registry_http_request_bytes_total", self.bytes_in, "Request body bytes received."),
                ("registry_http_response_bytes_total", self.bytes_out, "Response body bytes sent."),
            ):
                out.append(f"# HELP {name} {help_}")
                out.append(f"# TYPE {name} counter")
                for route, n in sorted(data.items()):
                    out.append(f'{name}{{route="{_esc(route)}"}} {n}')
            name = "registry_http_request_duration_seconds"
            out.append(f"# HELP {name} Request latency until the response is complete.")
            out.append(f"# TYPE {name} histogram")
            for route in sorted(self.hist):
                r = _esc(route)
                for b, n in zip(BUCKETS, self.hist[route], strict=True):
                    out.append(f'{name}_bucket{{route="{r}",le="{b}"}} {n}')
                out.append(f'{name}_bucket{{route="{r}",le="+Inf"}} {self.hist_count[route]}')
                out.append(f'{name}_sum{{route="{r}"}} {self.hist_sum[route]:.6f}')
                out.append(f'{name}_count{{route="{r}"}} {self.hist_count[route]}')
        return "\n".join(out) + "\n"
