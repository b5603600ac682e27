"""Conformance suite configuration: options, the behaviour marker and its ID
check, program locations, the probe runner and the ok-server fixtures."""
import os
import re
import shlex
import socket
import subprocess

import pytest

import report_plugin
import sc_kfacts
import sc_probe
import sc_proc

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
    g.addoption("--udp-server-cmd", default=None,
                help='judge another UDP server (RECV-3), e.g. "./srv {port}" ({port} optional)')
    g.addoption("--udp-client-cmd", default=None,
                help='judge another UDP client (CLI-1, SEND-3), e.g. "./cli {port}"')
    g.addoption("--pair-cmd", action="append", default=None,
                help="judge another socketpair demo (PAIR-1..4), run under strace; repeatable")
    g.addoption("--probe-wrap", default=None,
                help='run every sockcheck-probe under this wrapper, e.g. "strace -f -o /dev/null"')


def pytest_configure(config):
    config.addinivalue_line("markers", "behaviour(*ids): the BEHAVIOURS.md promise(s) a test checks")
    config.addinivalue_line("markers", "bundled_only(*options): checks only the bundled program's "
                            "own interface; not run when one of options judges another program")
    ids, source = load_behaviours()
    config.sc_behaviours = ids
    config.sc_behaviours_source = source
    config.sc_exceptions = load_exceptions()
    for bid in config.sc_exceptions:
        if bid not in ids:
            raise pytest.UsageError("exceptions.toml names unknown behaviour ID %r" % bid)
    calibrate(config)
    config.pluginmanager.register(report_plugin.BehaviourReport(config), "sc_behaviour_report")


_DESELECTED = []


def pytest_deselected(items):
    _DESELECTED.extend(items)


def pytest_collection_finish(session):
    """The scripts the collected tests take as parameters join the batches; when tests were
    deselected (-k, -m, bundled_only) the batches hold only the selected tests' scripts.
    Every worker collects the same items in the same order, so the shards agree."""
    used = sc_probe.register_params(session.items)
    if _DESELECTED:
        sc_probe.keep_only(used)


def program_dir(config):
    """--bin-dir, else $SC_BIN_DIR, else this tree's build/asan/bin (absolute)."""
    return os.path.abspath(config.getoption("--bin-dir") or os.environ.get("SC_BIN_DIR")
                           or os.path.join(ROOT, "build", "asan", "bin"))


def calibrate(config):
    """The kernel facts (sc_kfacts.py): sockcheck-kfacts from the program directory, or from
    this tree's build when the directory holds another implementation's programs."""
    path = os.path.join(program_dir(config), "sockcheck-kfacts")
    if not os.access(path, os.X_OK):
        path = os.path.join(ROOT, "build", "asan", "bin", "sockcheck-kfacts")
    wrap = shlex.split(config.getoption("--probe-wrap") or "")
    try:
        sc_kfacts.load(path, wrap)
    except (RuntimeError, OSError, ValueError, subprocess.TimeoutExpired) as e:
        raise pytest.UsageError("kernel calibration: %s" % e)


def pytest_collection_modifyitems(session, config, items):
    deselect_bundled_only(config, items)
    wrap = config.getoption("--probe-wrap")
    for item in items if wrap else ():
        if "probe" in getattr(item, "fixturenames", ()):
            item.user_properties.append(("judged", "--probe-wrap " + wrap))
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
    d = program_dir(pytestconfig)
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
    wrap = shlex.split(pytestconfig.getoption("--probe-wrap") or "")
    if not hasattr(pytestconfig, "workerinput"):
        return sc_probe.Probe(program("probe"), wrap=wrap)
    # pytest-xdist: the workers share the parent of their base temp directories.
    shared = str(tmp_path_factory.getbasetemp().parent)
    shards = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    return sc_probe.Probe(program("probe"), shared_dir=shared, shards=shards, wrap=wrap)


# ------------------------------------------------------------ servers

SERVER_START_S = 5.0


def judged(request, option):
    """The command line given for option, or None (the bundled program). A test
    that runs another implementation says so in its report properties, so the
    report keeps that verdict apart from the bundled programs'."""
    cmd = request.config.getoption(option)
    if cmd:
        shown = "; ".join(cmd) if isinstance(cmd, list) else cmd  # --pair-cmd repeats
        request.node.user_properties.append(("judged", "%s %s" % (option, shown)))
    return cmd


def deselect_bundled_only(config, items):
    """Tests marked bundled_only(OPTION) check this project's own interface
    (output format, options): not run when OPTION judges another program."""
    keep, drop = [], []
    for item in items:
        m = item.get_closest_marker("bundled_only")
        (drop if m and any(config.getoption(o) for o in m.args) else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


class Server:
    """A running TCP ok-server under test on port: ours (it announces the port)
    or another (seen listening in /proc/net/tcp*, never probed by connecting:
    a server made for one client keeps its one session for the test)."""

    def __init__(self, argv, port, ours, io_timeout):
        self.ours = ours
        self.io_timeout = io_timeout
        env = dict(os.environ)
        env.setdefault("ASAN_OPTIONS", "detect_leaks=1")
        self.proc = sc_proc.Proc(argv, env=env)
        self._pos = 0
        self.lines = []
        if ours:
            line = self.read_line(SERVER_START_S)
            m = re.match(r"^listening on (\S+):(\d+)$", line.strip()) if line else None
            self.port = int(m.group(2)) if m else None
            what = "announce 'listening on HOST:PORT' (printed %r)" % line
        else:
            self.port = sc_proc.wait_bound(self.proc, "tcp", port, SERVER_START_S)
            what = "listen on port %s" % ("(any)" if port is None else port)
        if self.port is None:
            code = self.stop()[0]
            raise AssertionError("server %s did not %s within %.0f s (exit %s); stdout %r; stderr %r"
                                 % (argv, what, SERVER_START_S, code, self.proc.text()[-500:],
                                    self.proc.text("stderr")[-1000:]))

    def read_line(self, timeout=5.0):
        """The next whole stdout line (or None within timeout)."""
        def have():
            return b"\n" in self.proc.output()[self._pos:]
        if not self.proc.wait_for(have, timeout):
            return None
        out = self.proc.output()
        end = out.index(b"\n", self._pos) + 1
        line = out[self._pos:end].decode(errors="replace")
        self._pos = end
        self.lines.append(line)
        return line

    def connect(self, timeout=None, host="127.0.0.1", source=None):
        s = socket.create_connection((host, self.port), timeout=timeout or self.io_timeout,
                                     source_address=(source, 0) if source else None)
        s.settimeout(timeout or self.io_timeout)
        return s

    def stop(self):
        """SIGTERM (the group is killed after a short grace); the exit code and stderr."""
        code = self.proc.stop()
        return code, self.proc.text("stderr")


@pytest.fixture
def server_cmd(request):
    """--server-cmd's command line, or None: the bundled sockcheck-ok-server."""
    return judged(request, "--server-cmd")


@pytest.fixture
def udp_server_cmd(request):
    return judged(request, "--udp-server-cmd")


@pytest.fixture
def udp_client_cmd(request):
    cmd = judged(request, "--udp-client-cmd")
    if cmd and "{port}" not in cmd:
        pytest.fail("--udp-client-cmd needs {port}: the suite never uses a fixed port")
    return cmd


@pytest.fixture
def pair_cmds(request):
    """--pair-cmd's command lines (a list), or None: the bundled sockcheck-pair."""
    return judged(request, "--pair-cmd")


@pytest.fixture
def start_server(server_cmd, program):
    """Starts the server under test (ours, or --server-cmd's: a fresh instance
    per call); every started server is stopped and its process group gone at
    teardown, however the test ended."""
    started = []
    cmd = server_cmd

    def start(port=None, extra=()):
        if cmd:
            if "{port}" in cmd:
                port = sc_proc.free_port() if port is None else port
            else:
                port = None  # the command fixes its port: found in /proc
            srv = Server(sc_proc.command_argv(cmd, port) + list(extra), port, ours=False, io_timeout=sc_proc.IO_TIMEOUT)
        else:
            argv = [program("ok-server"), str(port or 0)] + list(extra)
            srv = Server(argv, port, ours=True, io_timeout=sc_proc.IO_TIMEOUT)
        started.append(srv)
        return srv

    yield start
    reports = []
    for srv in started:
        srv.stop()
        rep = srv.proc.sanitizer_report()
        if rep:
            reports.append(rep)
    # Every server test also holds the server to a clean stderr (SRV-R1, SRV-R6).
    assert not reports, "sanitizer report from the server:\n" + "\n".join(reports)
