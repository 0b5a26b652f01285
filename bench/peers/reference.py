"""Peer: the reference scenario with a Manager list: two worker processes append five
items each; the final list is printed as JSON."""
import json
import multiprocessing as mp

WORDS = [["one", "two", "three", "four", "five"], ["six", "seven", "eight", "nine", "ten"]]


def work(shared, words):
    for word in words:
        shared.append(word)


def main():
    with mp.Manager() as manager:
        shared = manager.list()
        procs = [mp.Process(target=work, args=(shared, words)) for words in WORDS]
        for p in procs:
            p.start()
        for p in procs:
            p.join()
        print(json.dumps(list(shared)))


if __name__ == "__main__":
    main()
