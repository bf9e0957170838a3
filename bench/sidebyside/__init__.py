"""Porter's side-by-side benchmark, the library behind bench/harness.py (Python 3 standard library only).

settings   what one run measures (durations, rounds, sizes) and the log line format
processes  processes started by the benchmark: process groups, CPU accounting from /proc, stopping by PID
client     one-shot HTTP requests and readiness polls
load       wrk runs, their parsing, interleaved rounds and the summary of a case's rounds
contenders the servers under test (origin, Porter, Passenger, nginx, Varnish, the Kestrel ceiling): how each is
           configured, started, checked and accounted
cases      one module per case (hit, fast, slow, herd, memory, cold start, vary, many keys)
profile    dotnet-counters / dotnet-trace runs of Porter, outside the tables
machine    the machine and the tool versions, for the report's header
report     bench/RESULTS.md from a run's figures
"""
