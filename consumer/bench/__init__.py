"""``barunrun bench``: throughput, latency and scale of the consumer, beside the limit and the
naive way, on the embedded broker and Redis, with the same simulated frames for every variant.

* ``frames``    the simulated frames (rendered once) and their producer
* ``limit``     kafka-python reading the same messages and doing nothing else
* ``serving``   real ``barunrun serve`` processes, watched through their ``/metrics``
* ``latency``   frame-to-score latency with runners streaming in real time
* ``naive``     the seed's way, per message
* ``machine``   what it ran on;  ``report``: the table and docs/benchmarks.md
* ``run``       one invocation, every variant in turn (``run_bench``)
"""
