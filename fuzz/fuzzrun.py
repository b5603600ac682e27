"""Shared by the fuzz-level tests (bite_test.py, signal_test.py): how a fuzz target is built
and how its libFuzzer flags are read. Not a test module."""
import os
import shutil
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD_TIMEOUT = 1200


def run(cmd, timeout, cwd=ROOT):
    """Runs cmd to completion (bounded by timeout), stdout and stderr together as text."""
    return subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, errors="replace", timeout=timeout, check=False)


def build(build_dir, target, configure_args):
    """Configures build_dir with configure_args if it is not yet, builds fuzz_<target> there
    and returns the executable's path."""
    if not os.path.exists(os.path.join(build_dir, "CMakeCache.txt")):
        r = run(configure_args, BUILD_TIMEOUT)
        assert r.returncode == 0, f"configure failed:\n{r.stdout[-4000:]}"
    r = run(["cmake", "--build", build_dir, "-j2", "--target", f"fuzz_{target}"], BUILD_TIMEOUT)
    assert r.returncode == 0, f"build of fuzz_{target} failed:\n{r.stdout[-4000:]}"
    exe = os.path.join(build_dir, "fuzz", f"fuzz_{target}")
    assert os.access(exe, os.X_OK), f"{exe} was not built"
    return exe


def copy_tree(dest, skip=("build/",)):
    """A scratch copy at dest of the tree's files as git lists them (tracked and new), less
    the paths starting with one of skip. Returns dest."""
    r = run(["git", "ls-files", "-co", "--exclude-standard"], 60)
    assert r.returncode == 0, r.stdout
    if os.path.exists(dest):
        shutil.rmtree(dest)
    for rel in r.stdout.splitlines():
        src = os.path.join(ROOT, rel)
        if rel.startswith(skip) or not os.path.isfile(src):
            continue
        os.makedirs(os.path.dirname(os.path.join(dest, rel)), exist_ok=True)
        shutil.copy2(src, os.path.join(dest, rel))
    return dest


def patched_tree(patch, dest):
    """A scratch copy at dest of the tree's sources (tracked and new files, as git lists
    them) with patch applied (patch -p1). Returns dest. The product sources themselves
    never carry planted bugs."""
    copy_tree(dest, skip=("build/", "corpus/"))
    r = run(["patch", "-p1", "--forward", "--batch", "-i", patch], 60, cwd=dest)
    assert r.returncode == 0, f"{patch} does not apply:\n{r.stdout}"
    return dest


def clean_build(target):
    """fuzz_<target> on the real library: the fuzz preset's build, or the configured build
    named by SC_BITE_CLEAN_BUILD (relative paths are taken from the current directory)."""
    default = os.path.join(ROOT, "build", "fuzz")
    build_dir = os.path.abspath(os.environ.get("SC_BITE_CLEAN_BUILD", default))
    return build(build_dir, target, ["cmake", "--preset", "fuzz"])


def options(target):
    """libFuzzer flags from fuzz/<target>.options, through the project's one reader."""
    r = run([os.path.join(ROOT, "fuzz", "tools", "options.sh"), target], 30)
    assert r.returncode == 0, r.stdout
    return r.stdout.split()


def target_exists(target):
    return os.path.exists(os.path.join(ROOT, "fuzz", f"{target}.c"))


def seed_corpus(target, dest):
    """A scratch corpus at dest (a pathlib.Path) holding a copy of corpus/<target>."""
    seeds = os.path.join(ROOT, "corpus", target)
    if os.path.isdir(seeds):
        shutil.copytree(seeds, dest)
    else:
        dest.mkdir()
    return dest
