#!/usr/bin/env bash
# Issue 22 experiment (not a product path): out-of-tree copies of the package, one pure and
# two with hot modules compiled by mypyc, for bench/mypyc_ab.py. See bench/MYPYC.md.
#
#   bash bench/mypyc_build.sh [OUT]        # OUT defaults to /tmp/mx
#
# OUT/pure  the package as installed (src/clustersim + scheduler/ + faults/), unchanged
# OUT/a     round (a): clustersim/cluster.py compiled
# OUT/b     round (b): cluster + the engine's hot modules + job, checkpoint, metrics,
#           scheduler/easy_backfill compiled
# The compiled trees carry the minimal source changes mypyc needed (applied by fix_sources
# below, in the copy only; the worktree's src/ is never touched). setuptools, which mypyc's
# build step needs and the project venv lacks, goes to OUT/st (uv pip install --target).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-/tmp/mx}
mypyc="$top/.venv/bin/mypyc"
py="$top/.venv/bin/python"
mkdir -p "$out"
[ -d "$out/st/setuptools" ] || uv pip install --quiet --target "$out/st" setuptools

copy_tree() {  # copy_tree DIR: the installed layout of the package under DIR/clustersim
    rm -rf "$1"
    mkdir -p "$1"
    cp -r "$top/src/clustersim" "$1/clustersim"
    cp -r "$top/scheduler" "$1/clustersim/scheduler"
    cp -r "$top/faults" "$1/clustersim/faults"
    find "$1" -name __pycache__ -prune -exec rm -rf {} +
}

fix_sources() {  # fix_sources DIR: the local changes mypyc needed (see MYPYC.md)
    "$py" - "$1" <<'EOF'
import sys
from pathlib import Path

pkg = Path(sys.argv[1]) / "clustersim"


def edit(rel: str, old: str, new: str) -> None:
    p = pkg / rel
    s = p.read_text()
    assert s.count(old) == 1, (rel, old)
    p.write_text(s.replace(old, new))


# 1. cluster.py: `chosen` is a list[int] in one branch and a numpy mask in the other; mypyc
#    types the local as list and raises TypeError at run time on the ndarray.
edit(
    "cluster.py",
    "        chosen = free & (np.cumsum(free, axis=1) <= takes[:, None])\n"
    "        return np.sort(index[chosen])\n",
    "        mask = free & (np.cumsum(free, axis=1) <= takes[:, None])\n"
    "        return np.sort(index[mask])\n",
)
# 2. cluster.py, check_invariants: `free` is an int (a shared node's free GPUs) in one loop and
#    a numpy mask further down (`spare` likewise a mask): same TypeError as 1.
p = pkg / "cluster.py"
s = p.read_text()
i = s.index("        free, spare = self.state == _FREE, self.state == _SPARE\n")
j = s.index("    def _choose_racks(", i)
body = s[i:j]
for old, new in (
    ("free, spare = self.state", "free_mask, spare_mask = self.state"),
    ("[free]", "[free_mask]"),
    ("[spare]", "[spare_mask]"),
    ("np.flatnonzero(spare)", "np.flatnonzero(spare_mask)"),
):
    assert old in body, old
    body = body.replace(old, new)
p.write_text(s[:i] + body + s[j:])
# 3. dispatcher.py: a native class cannot inherit from AssertionError; keep it a Python class.
edit(
    "engine/dispatcher.py",
    "class LivelockError(AssertionError):",
    "@mypyc_attr(native_class=False)\nclass LivelockError(AssertionError):",
)
edit(
    "engine/dispatcher.py",
    "from __future__ import annotations\n",
    "from __future__ import annotations\n\nfrom mypy_extensions import mypyc_attr\n",
)
# 4. dispatcher.py: mypyc crashes (ValueError in inspect.Signature while writing
#    __text_signature__) on a keyword-only parameter with a default followed by one without;
#    move `queue_cut` after the required keyword-only ones (callers pass it by keyword).
edit(
    "engine/dispatcher.py",
    '        queue_cut: QueueCut = "fitting",\n        preempt_checkpoint: bool,\n',
    "        preempt_checkpoint: bool,\n",
)
edit(
    "engine/dispatcher.py",
    "        on_finished: Callable[[], None],\n        placement_wait_s: float = 0.0,\n",
    "        on_finished: Callable[[], None],\n"
    '        queue_cut: QueueCut = "fitting",\n'
    "        placement_wait_s: float = 0.0,\n",
)
EOF
}

compile_tree() {  # compile_tree DIR MODULE...: mypyc in DIR, prints seconds and .so sizes
    local dir=$1
    shift
    local t0=$SECONDS
    (cd "$dir" && PYTHONPATH="$out/st" "$mypyc" --config-file "$top/pyproject.toml" "$@" \
        >"$dir.log" 2>&1) || { tail -30 "$dir.log"; exit 1; }
    echo "$dir: compiled $# modules in $((SECONDS - t0)) s"
    find "$dir" -name '*.so' -printf '%s\t%p\n' | sort -k2
}

ROUND_A=(clustersim/cluster.py)
ROUND_B=(
    clustersim/cluster.py
    clustersim/engine/lifecycle.py clustersim/engine/dispatcher.py clustersim/engine/fleet.py
    clustersim/engine/accounts.py clustersim/engine/recorder.py clustersim/engine/degradation.py
    clustersim/job.py clustersim/checkpoint.py clustersim/metrics.py
    clustersim/scheduler/easy_backfill.py
)

copy_tree "$out/pure"
copy_tree "$out/a"
fix_sources "$out/a"
copy_tree "$out/b"
fix_sources "$out/b"
compile_tree "$out/a" "${ROUND_A[@]}"
compile_tree "$out/b" "${ROUND_B[@]}"
