"""Peer: the round trip of one Manager().list().append(), COUNT times, one at a time.

usage: manager_latency.py COUNT
prints: p50_us=<float> p99_us=<float>
"""
import multiprocessing as mp
import sys
import time


def main():
    count = int(sys.argv[1])
    with mp.Manager() as manager:
        shared = manager.list()
        for i in range(200):
            shared.append("latency-probe")
        samples = []
        for i in range(count):
            start = time.perf_counter_ns()
            shared.append("latency-probe")
            samples.append((time.perf_counter_ns() - start) / 1000)
    samples.sort()

    def rank(p):
        return samples[max(0, min(len(samples) - 1, -(-p * len(samples) // 100) - 1))]

    print(f"p50_us={rank(50):.1f} p99_us={rank(99):.1f}")


if __name__ == "__main__":
    main()
