"""Loading a Hugging Face causal LM and its tokenizer, shared by the `transformers` backend and `codealign train`.

One place decides what a model id means (a local folder, else a hub id), which dtype `auto` picks, and how a model
that cannot be loaded is reported: one line naming the model. torch and transformers are imported only when called.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from codealign.errors import BackendError

LOCAL_PREFIXES = ("/", "./", "../", "~")


def model_source(model_id: str, revision: str | None = None) -> str:
    """The string to hand to `from_pretrained`: the expanded local folder when it exists, else the hub id.

    A name that is plainly a path (starts with /, ./, ../ or ~) but does not exist is an error, not a hub lookup.
    A hub id that is not cached while the hub cannot be reached fails here, in seconds (see `codealign.hub`).
    """
    local = Path(model_id).expanduser()
    if local.exists():
        return str(local)
    if model_id.startswith(LOCAL_PREFIXES):
        raise BackendError(f"model path not found: {model_id}")
    from codealign.hub import require_model

    require_model(model_id, revision)
    return model_id


def resolve_device(device: str) -> str:
    """`auto` is cuda when a GPU is visible, else cpu; anything else is returned as given."""
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def resolve_dtype(dtype: str, device: str) -> Any:
    """A torch dtype from its name; `auto` is bfloat16 on CUDA and float32 elsewhere."""
    import torch

    if dtype == "auto":
        return torch.bfloat16 if device.startswith("cuda") else torch.float32
    value = getattr(torch, dtype, None)
    if not isinstance(value, torch.dtype):
        raise BackendError(f"unknown dtype {dtype!r}: use float32, bfloat16, float16 or auto")
    return value


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def load_tokenizer(model_id: str, revision: str | None = None, trust_remote_code: bool = False) -> Any:
    from transformers import AutoTokenizer

    source = model_source(model_id, revision)
    try:
        return AutoTokenizer.from_pretrained(source, revision=revision, trust_remote_code=trust_remote_code)
    except (OSError, ValueError) as exc:
        raise BackendError(f"cannot load the tokenizer of {model_id!r}: {_first_line(exc)}") from None


def load_causal_lm(
    model_id: str,
    revision: str | None = None,
    trust_remote_code: bool = False,
    dtype: Any = "auto",
    device: str = "cpu",
    **kwargs: Any,
) -> Any:
    """`AutoModelForCausalLM.from_pretrained` with our error messages; `dtype` is a name or a torch dtype.

    Extra keyword arguments (a quantization config, a device map) go to `from_pretrained` unchanged. The model is
    left where `from_pretrained` puts it: callers that run it move it, trainers let accelerate place it.
    """
    from transformers import AutoModelForCausalLM
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # the job's own progress bar is the one to watch
    source = model_source(model_id, revision)
    if isinstance(dtype, str):
        dtype = resolve_dtype(dtype, device)
    try:
        return AutoModelForCausalLM.from_pretrained(
            source, dtype=dtype, revision=revision, trust_remote_code=trust_remote_code, **kwargs
        )
    except (OSError, ValueError) as exc:
        raise BackendError(f"cannot load model {model_id!r}: {_first_line(exc)}") from None
