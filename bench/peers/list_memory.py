"""Peer: bytes per item of a Python list of COUNT 13-character str (the list's pointer
array plus each str object).

usage: list_memory.py COUNT
prints: bytes_per_item=<float>
"""
import sys


def main():
    count = int(sys.argv[1])
    items = [f"it-0-{i:08d}" for i in range(count)]
    total = sys.getsizeof(items) + sum(sys.getsizeof(s) for s in items)
    print(f"bytes_per_item={total / count:.1f}")


if __name__ == "__main__":
    main()
