"""Runs sockcheck-probe scripts for the conformance tests.

Test modules register every script at import time with ``script()``; the
first test that asks for a result runs all registered scripts in one
``sockcheck-probe --batch`` process (each script in a fresh forked child), so
a thousand cases cost about a second. Expected values live in the tests, never
here: this module only transports the kernel's answers.
"""
import json
import os
import subprocess

_REGISTRY = {}  # script text -> registration order

# Byte k of a probe payload with seed s (the probe's default fill).
def pattern(n, seed=0):
    return bytes((seed + k) % 251 for k in range(n))


def fnv1a64(data):
    h = 0xCBF29CE484222325
    for b in data:
        h ^= b
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return "%016x" % h


def script(*steps):
    """Joins steps with ' -- ' and registers the script; returns its text."""
    text = " -- ".join(s.strip() for s in steps)
    if "\n" in text:
        raise ValueError("a probe script is one line")
    _REGISTRY.setdefault(text, len(_REGISTRY))
    return text


def keep_only(texts):
    """Limits the batches to the registered scripts among texts (a run that selected some
    tests runs only their scripts); registration order kept, numbers made contiguous again
    (the shards are numbers modulo the worker count)."""
    kept = [t for t in sorted(_REGISTRY, key=_REGISTRY.get) if t in texts]
    _REGISTRY.clear()
    _REGISTRY.update((t, i) for i, t in enumerate(kept))


def register_params(items):
    """Registers the scripts that the items take as Script parameters (texts built after
    import), so they run in the batches like the rest instead of one probe process each;
    returns the texts of every script the items take as a parameter (Script or text)."""
    used = set()
    for item in items:
        for value in getattr(getattr(item, "callspec", None), "params", {}).values():
            if isinstance(value, Script):
                used.add(value.text())
            elif isinstance(value, str) and value in _REGISTRY:
                used.add(value)
    return used


class ProbeError(AssertionError):
    pass


class Probe:
    """Runs registered scripts in batches and hands each test its result.

    Under pytest-xdist the registered scripts are split into one shard per
    worker; whoever first needs a shard takes its lock, runs it and leaves the
    results in shared_dir, so the workers run their shards in parallel and no
    script runs twice. Without shared_dir everything runs in one batch."""

    def __init__(self, exe, shared_dir=None, shards=1, timeout=120.0, wrap=()):
        self.exe = exe
        self.wrap = list(wrap)  # --probe-wrap: the command every probe runs under
        self.timeout = timeout
        self.shared_dir = shared_dir
        self.shards = max(1, shards)
        self.results = {}

    def _run_batch(self, scripts):
        data = "".join(s + "\n" for s in scripts)
        proc = subprocess.Popen(self.wrap + [self.exe, "--timeout", "5", "--batch"], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            out, errout = proc.communicate(data.encode(), timeout=self.timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, errout = proc.communicate()
            errout += b"\n(batch killed after %.0f s)" % self.timeout
        per = [[] for _ in scripts]
        for line in out.decode(errors="replace").splitlines():
            try:
                rec = json.loads(line)
                per[rec["script"]].append(rec)
            except (ValueError, KeyError, IndexError, TypeError):
                continue
        errtext = errout.decode(errors="replace")
        return {text: (recs, errtext) for text, recs in zip(scripts, per)}

    def _load_shard(self, k, ordered):
        import fcntl

        base = os.path.join(self.shared_dir, "probe-shard-%d-of-%d" % (k, self.shards))
        with open(base + ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # bounded: the holder's batch has a timeout
            if not os.path.exists(base + ".json"):
                mine = [t for i, t in enumerate(ordered) if i % self.shards == k]
                res = self._run_batch(mine)
                with open(base + ".tmp", "w") as f:
                    json.dump(res, f)
                os.replace(base + ".tmp", base + ".json")
            with open(base + ".json") as f:
                res = json.load(f)
        for text, (recs, errtext) in res.items():
            self.results[text] = (recs, errtext)

    def __call__(self, text):
        if text not in self.results:
            ordered = sorted(_REGISTRY, key=_REGISTRY.get)
            if self.shared_dir is not None and text in _REGISTRY:
                self._load_shard(_REGISTRY[text] % self.shards, ordered)
            if text not in self.results:
                pending = [s for s in ordered if s not in self.results]
                if text not in pending:
                    pending.append(text)
                self.results.update(self._run_batch(pending))
        recs, stderr = self.results[text]
        if not recs or recs[-1].get("call") != "end":
            raise ProbeError("probe gave no end record for %r; stderr: %s" % (text, stderr[-2000:]))
        end = recs[-1]
        if end.get("status") != "ok":
            raise ProbeError("probe script %r ended %s: %s" % (text, end, stderr[-2000:]))
        # In step order: a peer thread's lines interleave with the main thread's.
        steps = sorted(recs[:-1], key=lambda rec: rec.get("step", -1))
        for rec in steps:
            if "error" in rec:
                raise ProbeError("probe step failed: %s in %r" % (rec, text))
        return steps


TYPES = ("stream", "dgram", "seqpacket")
MODES = ("block", "nonblock")
DIRS = ((0, 1), (1, 0))


def pair_step(kind, mode, extra=""):
    return ("pair unix %s %s %s" % (kind, "nonblock" if mode == "nonblock" else "", extra)).strip()


def dir_id(d):
    return "sv%d_to_sv%d" % d


def err(rec, name):
    """Asserts a failed call with errno `name`, printing both sides."""
    assert (rec["ret"], rec["errno_name"]) == (-1, name), \
        "expected -1 %s, got %s %s (%s)" % (name, rec["ret"], rec["errno_name"], rec)


def ok(rec, ret=None):
    assert rec["ret"] >= 0, "expected success, got %s %s (%s)" % (rec["ret"], rec["errno_name"], rec)
    if ret is not None:
        assert rec["ret"] == ret, "expected ret %s, got %s (%s)" % (ret, rec["ret"], rec)


# ------------------------------------------------------------ socket origins
# Every way of making a connected pair, by kind (docs/behaviours.md ORIG-*): socketpair;
# AF_UNIX by a filesystem path, an abstract name or an autobound name; TCP/UDP over
# loopback IPv4 and IPv6. Streams and seqpackets: bind + listen + connect + accept;
# datagrams: two bound sockets connected to each other.
ORIGINS = {
    "stream": ("pair", "path", "abstract", "autobind", "tcp4", "tcp6"),
    "seqpacket": ("pair", "path", "abstract", "autobind"),
    "dgram": ("pair", "path", "abstract", "autobind", "udp4", "udp6"),
}
UNIX_ORIGINS = ("pair", "path", "abstract", "autobind")
_ADDR = {"path": ("unix:$T/a", "unix:$T/b"), "abstract": ("@$T/a", "@$T/b"),
         "autobind": ("@", "@"), "tcp4": ("127.0.0.1:0",) * 2, "tcp6": ("[::1]:0",) * 2,
         "udp4": ("127.0.0.1:0",) * 2, "udp6": ("[::1]:0",) * 2}
_FAMILY = {"tcp4": "inet", "udp4": "inet", "tcp6": "inet6", "udp6": "inet6"}


def origin(kind, org, mode):
    """Steps that make a connected pair of `kind` by `org`, in `mode`; returns
    (steps, (end0, end1)) with the two ends' slot numbers."""
    if org == "pair":
        return [pair_step(kind, mode)], (0, 1)
    fam = _FAMILY.get(org, "unix")
    a, b = _ADDR[org]
    if kind == "dgram":
        steps = ["socket %s dgram" % fam, "bind 0 %s" % a, "socket %s dgram" % fam,
                 "bind 1 %s" % b, "connect 0 slot:1", "connect 1 slot:0"]
        ends = (0, 1)
    else:
        steps = ["socket %s %s" % (fam, kind), "bind 0 %s" % a, "listen 0",
                 "socket %s %s" % (fam, kind), "connect 1 slot:0", "accept 0"]
        ends = (1, 2)
    if mode == "nonblock":
        steps += ["fcntl %d nonblock" % e for e in ends]
    return steps, ends


def origin_cases(kinds=("stream", "dgram", "seqpacket"), modes=MODES, origins=None):
    """(kind, origin, mode) for every origin of each kind."""
    return [(k, o, m) for k in kinds for o in ORIGINS[k] if origins is None or o in origins
            for m in modes]


class Script:
    """A script under construction: add() returns the step's number, so checks
    find their records by step, whatever else the script does."""

    def __init__(self, steps=()):
        self.steps = list(steps)

    def add(self, text):
        self.steps.append(text)
        return len(self.steps) - 1

    def text(self):
        return script(*self.steps)


def by_step(recs):
    """{step number: its (last) record}."""
    return {r["step"]: r for r in recs}
