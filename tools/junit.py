"""JUnit XML for the driver's own results (stages, replay and fuzz targets), the one writer
of it; pytest and ctest write their own. As a command it reads tab-separated results, one
per line, NAME<TAB>pass|fail|skip<TAB>SECONDS<TAB>MESSAGE, and writes one suite:

  junit.py SUITE OUT.xml < results.tsv

MESSAGE may hold literal "\\n" for line breaks (the failure's text)."""
import os
import sys
import xml.etree.ElementTree as ET


def suite(name, cases):
    """A <testsuite> element; cases are (name, status, seconds, message) with status
    pass, fail or skip."""
    fails = sum(1 for c in cases if c[1] == "fail")
    skips = sum(1 for c in cases if c[1] == "skip")
    total = sum(float(c[2] or 0) for c in cases)
    s = ET.Element("testsuite", name=name, tests=str(len(cases)), failures=str(fails),
                   errors="0", skipped=str(skips), time=f"{total:.1f}")
    for case_name, status, secs, msg in cases:
        add_case(s, name, case_name, status, secs, msg)
    return s


def add_case(parent, classname, name, status, secs, msg):
    """Appends one <testcase> to parent (a <testsuite>)."""
    tc = ET.SubElement(parent, "testcase", classname=classname, name=name,
                       time=f"{float(secs or 0):.1f}")
    if status == "fail":
        first = msg.splitlines()[0] if msg else "failed"
        ET.SubElement(tc, "failure", message=first).text = msg
    elif status == "skip":
        ET.SubElement(tc, "skipped", message=msg or "skipped")
    elif msg:
        ET.SubElement(tc, "system-out").text = msg
    return tc


def write(path, element):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    ET.ElementTree(element).write(path, encoding="utf-8", xml_declaration=True)


def append_failure(path, classname, name, msg):
    """Adds a failed testcase to an existing JUnit file (pytest's <testsuites> or ctest's
    <testsuite> root), counting it in its suite's failures."""
    tree = ET.parse(path)
    root = tree.getroot()
    s = root if root.tag == "testsuite" else root.find("testsuite")
    if s is None:
        s = ET.SubElement(root, "testsuite", name=classname, tests="0", failures="0")
    add_case(s, classname, name, "fail", 0, msg)
    for key in ("tests", "failures"):
        s.set(key, str(int(s.get(key, "0")) + 1))
    tree.write(path, encoding="utf-8", xml_declaration=True)


def main(argv):
    if len(argv) != 3:
        print("usage: junit.py SUITE OUT.xml < results.tsv", file=sys.stderr)
        return 2
    cases = []
    for line in sys.stdin:
        parts = line.rstrip("\n").split("\t", 3)
        if len(parts) < 3 or parts[1] not in ("pass", "fail", "skip"):
            print(f"junit.py: bad result line: {line.strip()!r}", file=sys.stderr)
            return 2
        parts += [""] * (4 - len(parts))
        cases.append((parts[0], parts[1], parts[2], parts[3].replace("\\n", "\n")))
    write(argv[2], suite(argv[1], cases))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
