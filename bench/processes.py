"""Starting, timing and stopping the processes a benchmark runs, and what /proc says about them.

Servers run pinned to SERVER_CPU and load generators to CLIENT_CPU, so that a server's CPU time is its own.
Every process started here is remembered, so that a failure or Ctrl-C stops them all (`stop_all`).
"""
import os, signal, subprocess, sys, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
SERVER_CPU, CLIENT_CPU = "0", "1"
RUNNING = []


def run(command, **kwargs):
    return subprocess.run(command, check=True, **kwargs)


def group_pids(leader):
    """Every process of the server's session: NSD serves from a forked child, and its CPU counts too."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == leader:  # the session id; every server here leads its own session
            pids.append(int(entry))
    return pids


def cpu_seconds(leader):
    """User and system CPU of every process of the session, in seconds."""
    total = 0
    for pid in group_pids(leader):
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except OSError:
            pass
    return total / CLOCK_TICKS


def memory_mb(leader, field="VmRSS"):
    """VmRSS (now) or VmHWM (the peak) of every process of the session, in MB."""
    total = 0
    for pid in group_pids(leader):
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith(field + ":"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def rss_mb(leader):
    return memory_mb(leader, "VmRSS")


def start(name, command, check, ready, pin_threads=False, timeout=30, log=None, on_poll=None):
    """Starts a server pinned to the server CPU and waits (at most `timeout` s) until `ready`; returns the
    process and the seconds from start to ready. `on_poll` is called every 50 ms while waiting."""
    started = time.monotonic()
    errors = open(log, "w") if log else subprocess.DEVNULL
    process = subprocess.Popen(["taskset", "-c", SERVER_CPU] + command, stdout=subprocess.DEVNULL, stderr=errors,
                               start_new_session=True)
    if log:
        errors.close()
    RUNNING.append(process)
    while time.monotonic() - started < timeout:
        if process.poll() is not None:
            sys.exit(f"bench: {name} exited with {process.returncode}" + (f" (its log: {log})" if log else ""))
        if on_poll:
            on_poll(process)
        if ready():
            break
        time.sleep(0.05)
    else:
        stop(process)
        sys.exit(f"bench: {name} did not answer within {timeout} s")
    load = time.monotonic() - started
    if pin_threads:
        # Knot pins its UDP worker to CPU 0 whatever taskset said; re-pin every thread after start.
        run(["taskset", "-a", "-p", "-c", SERVER_CPU, str(process.pid)], stdout=subprocess.DEVNULL)
    if not check():
        stop(process)
        sys.exit(f"bench: {name} answered wrongly")
    return process, load


def start_unpinned(command, **kwargs):
    """A helper process (etcd, a listener, dnsperf in the background) in its own session, stopped by stop_all."""
    process = subprocess.Popen(command, start_new_session=True, **kwargs)
    RUNNING.append(process)
    return process


def stop(process):
    try:
        # SIGINT: svcdns stops at once (SIGTERM would wait out its lameduck period).
        os.killpg(process.pid, signal.SIGINT)
        process.wait(timeout=10)
    except ProcessLookupError:
        pass
    except Exception:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait()
    if process in RUNNING:
        RUNNING.remove(process)


def stop_all():
    for process in list(RUNNING):
        stop(process)
