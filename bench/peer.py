"""The Python side of bench/peers.ts' line protocol: warm a call up, print @ready, then time one call per `run`
line (@seconds), and on `stop` print the process's peak resident memory in MiB (@stopped) and return."""
import resource
import sys
import time


def serve(call, warmups):
    for _ in range(warmups):
        call()
    print("@ready", flush=True)
    for line in sys.stdin:
        command = line.strip()
        if command == "run":
            start = time.perf_counter()
            call()
            print(f"@seconds {time.perf_counter() - start}", flush=True)
        elif command == "stop":
            print(f"@stopped {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}", flush=True)
            return
