"""Peer: multiprocessing.Manager().list() filled by worker processes.

usage: manager_list.py append|extend WORKERS ITEMS_PER_WORKER [BATCH]
prints: items_per_second=<float> seconds=<float> length=<int>
"""
import multiprocessing as mp
import sys
import time


def work(shared, worker, count, mode, batch):
    items = [f"it-{worker}-{i:08d}" for i in range(count)]
    if mode == "append":
        append = shared.append
        for item in items:
            append(item)
    else:
        for start in range(0, count, batch):
            shared.extend(items[start:start + batch])


def main():
    mode, workers, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    batch = int(sys.argv[4]) if len(sys.argv) > 4 else 1000
    with mp.Manager() as manager:
        shared = manager.list()
        procs = [mp.Process(target=work, args=(shared, w, count, mode, batch)) for w in range(workers)]
        start = time.perf_counter()
        for p in procs:
            p.start()
        for p in procs:
            p.join()
        seconds = time.perf_counter() - start
        length = len(shared)
    assert length == workers * count, (length, workers * count)
    print(f"items_per_second={workers * count / seconds:.0f} seconds={seconds:.3f} length={length}")


if __name__ == "__main__":
    main()
