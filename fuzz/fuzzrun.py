"""Shared by the fuzz-level tests (bite_test.py, signal_test.py): how a fuzz target is built
and how its libFuzzer flags are read. Not a test module."""
import fcntl
import os
import shutil
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD_TIMEOUT = 1200


def run(cmd, timeout, cwd=ROOT):
    """Runs cmd to completion (bounded by timeout), stdout and stderr together as text."""
    return subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, errors="replace", timeout=timeout, check=False)


def build(build_dir, target, configure_args, names=None):
    """Configures build_dir with configure_args if it is not yet, builds fuzz_<target> (or
    the executables named in names) there and returns the first one's path."""
    if not os.path.exists(os.path.join(build_dir, "CMakeCache.txt")):
        r = run(configure_args, BUILD_TIMEOUT)
        assert r.returncode == 0, f"configure failed:\n{r.stdout[-4000:]}"
    names = names or [f"fuzz_{target}"]
    targets = [a for n in names for a in ("--target", n)]
    r = run(["cmake", "--build", build_dir, "-j2", *targets], BUILD_TIMEOUT)
    assert r.returncode == 0, f"build of {' '.join(names)} failed:\n{r.stdout[-4000:]}"
    exes = [os.path.join(build_dir, "fuzz", n) for n in names]
    for exe in exes:
        assert os.access(exe, os.X_OK), f"{exe} was not built"
    return exes[0]


def _tree_files():
    r = run(["git", "ls-files", "-co", "--exclude-standard"], 60)
    assert r.returncode == 0, r.stdout
    return [rel for rel in r.stdout.splitlines()
            if not rel.startswith(("build/", "corpus/")) and os.path.isfile(os.path.join(ROOT, rel))]


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
    them) with patch applied (patch -p1; None: no patch). Returns dest. The product
    sources themselves never carry planted bugs.

    dest is kept between calls and only files whose bytes differ are rewritten (files no
    longer listed are removed), so a build directory over dest recompiles only what the
    previous and the current patch touched."""
    files = _tree_files()
    for rel in files:
        src, dst = os.path.join(ROOT, rel), os.path.join(dest, rel)
        with open(src, "rb") as f:
            data = f.read()
        if os.path.isfile(dst):
            with open(dst, "rb") as f:
                if f.read() == data:
                    continue
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        with open(dst, "wb") as f:
            f.write(data)
        shutil.copymode(src, dst)
    keep = set(files)
    for top, _, names in os.walk(dest):
        for name in names:
            path = os.path.join(top, name)
            if os.path.relpath(path, dest) not in keep:
                os.remove(path)
    if patch is not None:
        r = run(["patch", "-p1", "--forward", "--batch", "--no-backup-if-mismatch", "-i", patch],
                60, cwd=dest)
        assert r.returncode == 0, f"{patch} does not apply:\n{r.stdout}"
    return dest


def patched_build(patch, target, slot):
    """fuzz_<target> and replay_<target> built with patch applied, in the scratch tree
    build/bite/<slot>/src and its build directory build/bite/<slot>/build (configured like
    the fuzz preset, once). Both persist, so each build recompiles only the files the
    patch (and the previous one) touched. One slot per concurrent caller. Returns the
    (fuzz, replay) executables."""
    base = os.path.join(ROOT, "build", "bite", slot)
    src = patched_tree(patch, os.path.join(base, "src"))
    build_dir = os.path.join(base, "build")
    fuzz = build(build_dir, target, [
        "cmake", "-S", src, "-B", build_dir, "-DCMAKE_C_COMPILER=clang", "-DSC_FUZZ=ON",
        "-DSC_TESTS=OFF", "-DCMAKE_BUILD_TYPE=RelWithDebInfo"],
        [f"fuzz_{target}", f"replay_{target}"])
    return fuzz, os.path.join(build_dir, "fuzz", f"replay_{target}")


def clean_build(target, names=None):
    """fuzz_<target> (or the executables named in names, the first one's path returned) on
    the real library: the fuzz preset's build, or the configured build named by
    SC_BITE_CLEAN_BUILD (relative paths are taken from the current directory)."""
    default = os.path.join(ROOT, "build", "fuzz")
    build_dir = os.path.abspath(os.environ.get("SC_BITE_CLEAN_BUILD", default))
    # One builder at a time: pytest-xdist workers share this build directory, and two makes
    # in it at once race on the same archives.
    os.makedirs(os.path.dirname(build_dir), exist_ok=True)
    with open(build_dir.rstrip("/") + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return build(build_dir, target, ["cmake", "--preset", "fuzz"], names)


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


def seed_dirs(target):
    """The committed inputs of target that the test command replays: corpus/<target> and
    corpus/regressions/<target>, those that exist."""
    dirs = [os.path.join(ROOT, "corpus", target), os.path.join(ROOT, "corpus", "regressions", target)]
    return [d for d in dirs if os.path.isdir(d)]
