"""Conformance suite configuration: options, the behaviour marker and its ID
check, program locations, the probe runner and the ok-server fixtures."""
import os
import re
import shlex
import socket
import subprocess
import time

import pytest

import report_plugin
import sc_probe

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BEHAVIOURS_MD = os.path.join(ROOT, "docs", "behaviours.md")
EXCEPTIONS_TOML = os.path.join(HERE, "exceptions.toml")

CELL_SPLIT = re.compile(r"(?<!\\)\|")
BEH_ID = re.compile(r"^[A-Z]+(?:-[A-Z0-9]+)+$")


def parse_behaviours_md(path):
    """Returns {ID: promise} from the tables of BEHAVIOURS.md (cells split on
    unescaped pipes: a promise may contain `A\\|B`)."""
    out = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line.startswith("|"):
                continue
            cells = [c.strip() for c in CELL_SPLIT.split(line.strip("|"))]
            if len(cells) >= 2 and BEH_ID.match(cells[0]):
                out[cells[0]] = cells[1].replace("\\|", "|")
    return out


def load_behaviours():
    """The spec in the repo (docs/behaviours.md), the one place the suite reads."""
    if not os.path.isfile(BEHAVIOURS_MD):
        raise pytest.UsageError("the spec %s is missing" % BEHAVIOURS_MD)
    return parse_behaviours_md(BEHAVIOURS_MD), os.path.relpath(BEHAVIOURS_MD, ROOT)


def load_exceptions():
    import tomllib

    with open(EXCEPTIONS_TOML, "rb") as f:
        return tomllib.load(f)


def pytest_addoption(parser):
    g = parser.getgroup("sockcheck")
    g.addoption("--bin-dir", default=None,
                help="directory of the sockcheck programs (default: $SC_BIN_DIR or build/asan/bin)")
    g.addoption("--server-cmd", default=None,
                help='run the server tests against CMD, e.g. "python3 srv.py {port}"')
    g.addoption("--report", default=None, help="write the behaviour report (Markdown) to PATH")


def pytest_configure(config):
    config.addinivalue_line("markers", "behaviour(*ids): the BEHAVIOURS.md promise(s) a test checks")
    ids, source = load_behaviours()
    config.sc_behaviours = ids
    config.sc_behaviours_source = source
    config.sc_exceptions = load_exceptions()
    for bid in config.sc_exceptions:
        if bid not in ids:
            raise pytest.UsageError("exceptions.toml names unknown behaviour ID %r" % bid)
    config.pluginmanager.register(report_plugin.BehaviourReport(config), "sc_behaviour_report")


def pytest_collection_modifyitems(session, config, items):
    ids = config.sc_behaviours
    problems = []
    for item in items:
        marks = list(item.iter_markers("behaviour"))
        if not marks:
            problems.append("%s has no @pytest.mark.behaviour" % item.nodeid)
            continue
        for mark in marks:
            if not mark.args:
                problems.append("%s: behaviour marker without an ID" % item.nodeid)
            for bid in mark.args:
                if bid not in ids:
                    problems.append("%s: unknown behaviour ID %r (not in %s)"
                                    % (item.nodeid, bid, config.sc_behaviours_source))
                else:
                    item.user_properties.append(("behaviour", bid))
    # When the whole suite is collected, every ID needs a test or an exception.
    files = {os.path.basename(str(item.fspath)) for item in items}
    suite = {f for f in os.listdir(HERE) if f.startswith("test_") and f.endswith(".py")}
    if suite <= files:
        covered = {bid for item in items for m in item.iter_markers("behaviour") for bid in m.args}
        excepted = {bid for bid, e in config.sc_exceptions.items() if e.get("kind") == "exception"}
        for bid in sorted(set(ids) - covered - excepted):
            problems.append("%s has no test and no exceptions.toml entry" % bid)
    if problems:
        raise pytest.UsageError("behaviour markers:\n  " + "\n  ".join(problems))


@pytest.fixture(scope="session")
def bin_dir(pytestconfig):
    d = pytestconfig.getoption("--bin-dir") or os.environ.get("SC_BIN_DIR") \
        or os.path.join(ROOT, "build", "asan", "bin")
    d = os.path.abspath(d)
    assert os.path.isdir(d), "program directory %s does not exist (give --bin-dir)" % d
    return d


@pytest.fixture(scope="session")
def program(bin_dir):
    def path(name):
        p = os.path.join(bin_dir, "sockcheck-" + name)
        assert os.access(p, os.X_OK), "%s is missing or not executable" % p
        return p
    return path


@pytest.fixture(scope="session")
def probe(program, tmp_path_factory, pytestconfig):
    if not hasattr(pytestconfig, "workerinput"):
        return sc_probe.Probe(program("probe"))
    # pytest-xdist: the workers share the parent of their base temp directories.
    shared = str(tmp_path_factory.getbasetemp().parent)
    shards = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    return sc_probe.Probe(program("probe"), shared_dir=shared, shards=shards)


# ------------------------------------------------------------ servers

SERVER_START_S = 10.0
SANITIZER = re.compile(r"AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:")


class Server:
    """A running ok-server (ours or --server-cmd's) on 127.0.0.1:port."""

    def __init__(self, argv, port, announce):
        self.argv = argv
        self.port = port
        self.stderr_path = None
        env = dict(os.environ)
        env.setdefault("ASAN_OPTIONS", "detect_leaks=1")
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     stdin=subprocess.DEVNULL, env=env)
        self.lines = []
        if announce:
            line = self._readline(SERVER_START_S)
            m = re.match(r"^listening on (\S+):(\d+)$", line.strip()) if line else None
            if not m:
                self.stop()
                raise AssertionError("server did not announce 'listening on HOST:PORT': %r" % line)
            self.port = int(m.group(2))
        else:
            self._wait_connectable(SERVER_START_S)

    def _readline(self, timeout):
        import select

        deadline = time.monotonic() + timeout
        buf = b""
        fd = self.proc.stdout.fileno()
        while time.monotonic() < deadline:
            r, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
            if not r:
                break
            chunk = os.read(fd, 1)
            if not chunk:
                break
            buf += chunk
            if chunk == b"\n":
                return buf.decode(errors="replace")
        return buf.decode(errors="replace") if buf else None

    def read_line(self, timeout=5.0):
        line = self._readline(timeout)
        if line is not None:
            self.lines.append(line)
        return line

    def _wait_connectable(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("server %s exited with %s before accepting"
                                     % (self.argv, self.proc.returncode))
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.02)
        raise AssertionError("server %s never accepted on port %d" % (self.argv, self.port))

    def connect(self, timeout=5.0):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        s.settimeout(timeout)
        return s

    def stop(self, timeout=10.0):
        """SIGTERM, then the exit code and stderr (kill after timeout)."""
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            _, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, err = self.proc.communicate(timeout=timeout)
        return self.proc.returncode, err.decode(errors="replace")


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def start_server(pytestconfig, program):
    """Starts the server under test; stops every started server at teardown."""
    started = []
    cmd = pytestconfig.getoption("--server-cmd")

    def start(extra=()):
        if cmd:
            port = free_port()
            argv = shlex.split(cmd.replace("{port}", str(port))) + list(extra)
            srv = Server(argv, port, announce=False)
        else:
            srv = Server([program("ok-server"), "0"] + list(extra), 0, announce=True)
        started.append(srv)
        return srv

    yield start
    reports = []
    for srv in started:
        _, err = srv.stop()
        if SANITIZER.search(err):
            reports.append(err[-4000:])
    # Every server test also holds the server to a clean stderr (SRV-R1, SRV-R6).
    assert not reports, "sanitizer report from the server:\n" + "\n".join(reports)


@pytest.fixture
def ours_only(pytestconfig):
    """True when the server tests run against our own server (its CLI and
    output lines are only promised by ours)."""
    return not pytestconfig.getoption("--server-cmd")
