"""The kernel calibration (sc_kfacts.py): each fact the suite and the fuzz oracle follow was
measured on this kernel, and its answer is one the spec allows. An answer outside the set
is a finding against the kernel (or the sandbox under --probe-wrap), reported here under the
fact's behaviour ID; the other tests then keep checking the spec's first answer."""
import pytest

import sc_kfacts

FACTS = sc_kfacts.FACTS["facts"] if sc_kfacts.FACTS else {}
KF = [pytest.param(name, marks=pytest.mark.behaviour(f["id"]), id=name) for name, f in sorted(FACTS.items())]


@pytest.mark.parametrize("name", KF)
def test_kernel_fact_within_the_spec(name):
    f = FACTS[name]
    assert f["answer"] in f["allowed"], \
        "kernel %s: %s [%s] is outside the spec's set %s: %s" % (
            sc_kfacts.FACTS["kernel"], name, f["id"], f["allowed"], f["observed"])
