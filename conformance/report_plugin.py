"""The behaviour report: `--report PATH` writes a Markdown table with one row
per behaviour ID: promise | tests (count) | result (pass / FAIL / exception).

Each test's IDs travel as user_properties ("behaviour", ID), so the table is
built from the reports alone and works under pytest-xdist (the controller
writes it) and appears in --junitxml as properties."""
import os

import sc_kfacts


class BehaviourReport:
    def __init__(self, config):
        self.config = config
        self.tests = {}  # nodeid -> {"ids": set, "failed": bool}

    def pytest_runtest_logreport(self, report):
        ids = {v for k, v in report.user_properties if k == "behaviour"}
        if not ids:
            return
        t = self.tests.setdefault(report.nodeid, {"ids": set(), "failed": False, "ran": False})
        t["ids"] |= ids
        # The program it judged when not the bundled one ("--server-cmd CMD").
        t["judged"] = next((v for k, v in report.user_properties if k == "judged"), t.get("judged"))
        if report.when == "call":
            t["ran"] = True
        if report.failed:
            t["failed"] = True
        if report.skipped:
            # No pytest.skip in this suite: a skip is an unmet promise.
            t["failed"] = True

    def subjects(self):
        """The other programs judged (their option and command), in order."""
        return sorted({t.get("judged") for t in self.tests.values()} - {None})

    def rows(self, judged=None):
        """One row per ID for the bundled programs (judged None), or per ID that
        has tests judging that other program."""
        ids = self.config.sc_behaviours
        exc = self.config.sc_exceptions
        per = {bid: [] for bid in ids}
        elsewhere = set()
        for nodeid, t in self.tests.items():
            for bid in t["ids"]:
                if t.get("judged") == judged:
                    per.setdefault(bid, []).append((nodeid, t))
                else:
                    elsewhere.add(bid)
        out = []
        for bid, promise in ids.items():
            tests = per.get(bid, [])
            if not tests and (judged is not None or bid in elsewhere):
                continue
            failed = sorted(n for n, t in tests if t["failed"] or not t["ran"])
            entry = exc.get(bid, {})
            note = entry.get("reason", "")
            if not tests:
                if entry.get("kind") == "exception":
                    result = "exception: " + note
                else:
                    result = "not run"
            elif failed:
                names = ", ".join(n.split("::", 1)[-1] for n in failed[:5])
                more = " ..." if len(failed) > 5 else ""
                result = "FAIL (%d of %d: %s%s)" % (len(failed), len(tests), names, more)
            else:
                result = "pass"
                if note:
                    result += " (note: %s)" % note
            out.append((bid, promise, len(tests), result))
        return out

    def pytest_sessionfinish(self, session):
        path = self.config.getoption("--report")
        if not path or hasattr(self.config, "workerinput"):
            return
        cell = lambda s: s.replace("|", "\\|").replace("\n", " ")

        def table(rows):
            lines = ["| behaviour ID | promise (docs/behaviours.md) | tests | result |",
                     "|---|---|---|---|"]
            for bid, promise, n, result in rows:
                lines.append("| %s | %s | %d | %s |" % (bid, cell(promise), n, cell(result)))
            return "\n".join(lines) + "\n"

        text = "# Conformance report\n\nCalibrated on %s (sockcheck-kfacts; the expectations " \
            "that differ between kernels within the spec follow these).\n\n" % sc_kfacts.summary()
        subjects = self.subjects()
        for judged in subjects:
            # Another implementation's verdict stands apart from the bundled one's.
            text += "## Judged: `%s`\n\n%s\n" % (judged, table(self.rows(judged)))
        if subjects:
            text += "## The bundled programs and library (%s)\n\n" % (
                self.config.getoption("--bin-dir") or "build/asan/bin")
        text += table(self.rows())
        d = os.path.dirname(os.path.abspath(path))
        os.makedirs(d, exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)

    def pytest_terminal_summary(self, terminalreporter):
        if hasattr(self.config, "workerinput"):
            return
        for judged in self.subjects() + [None]:
            bad = [(bid, r) for bid, _, n, r in self.rows(judged) if r.startswith(("FAIL", "not run"))]
            if bad and self.tests:
                terminalreporter.write_sep("-", "behaviours not met" + (" by `%s`" % judged if judged else ""))
                for bid, r in bad:
                    terminalreporter.write_line("%s: %s" % (bid, r))
