"""Whether the Hugging Face hub can be reached, found out once per process in a few seconds.

Without the hub the hub libraries retry for a minute or more before giving up. When it cannot be reached, codealign
switches them to offline mode at once (HF_HUB_OFFLINE, HF_DATASETS_OFFLINE): what is in the local cache still
loads, anything else fails in seconds with one line saying why.
"""

from __future__ import annotations

import os
import sys
import threading
from urllib.parse import urlparse

from codealign.errors import BackendError

_state: dict[str, str | None] = {}


def offline_by_choice() -> bool:
    """The user switched the hub off (HF_HUB_OFFLINE=1 or HF_DATASETS_OFFLINE=1) and codealign did not."""
    if _state.get("offline_set_by_us"):
        return False
    return any(os.environ.get(k, "").lower() in ("1", "true", "yes") for k in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"))


def unreachable(timeout: float = 3.0) -> str | None:
    """Why the hub cannot be reached (None when it can), checked once: a name lookup and a TCP connection to its
    endpoint ($HF_ENDPOINT, else huggingface.co), bounded by `timeout` seconds in all."""
    if "reason" in _state:
        return _state["reason"]
    url = urlparse(os.environ.get("HF_ENDPOINT") or "https://huggingface.co")
    host, port = url.hostname or "huggingface.co", url.port or (80 if url.scheme == "http" else 443)
    result: list[str | None] = []

    def probe() -> None:
        import socket

        try:
            socket.create_connection((host, port), timeout=timeout).close()
            result.append(None)
        except OSError as exc:
            result.append(exc.strerror or str(exc) or type(exc).__name__)

    thread = threading.Thread(target=probe, daemon=True)  # a name lookup has no timeout of its own
    thread.start()
    thread.join(timeout + 0.5)
    reason = result[0] if result else f"no answer from {host} within {timeout:g} s"
    _state["reason"] = None if reason is None else f"{host}: {reason}"
    return _state["reason"]


def go_offline_if_unreachable() -> str | None:
    """When the hub cannot be reached, put the hub libraries in offline mode (so they fail at once instead of
    retrying for a minute) and return why; None when the hub is reachable or the user chose offline mode."""
    if offline_by_choice():
        return None
    reason = unreachable()
    if reason is None:
        return None
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["HF_DATASETS_OFFLINE"] = "1"
    _state["offline_set_by_us"] = "1"
    # Libraries already imported read these once, at import.
    constants = sys.modules.get("huggingface_hub.constants")
    if constants is not None:
        constants.HF_HUB_OFFLINE = True
    config = sys.modules.get("datasets.config")
    if config is not None:
        config.HF_HUB_OFFLINE = True
        config.HF_DATASETS_OFFLINE = True
    return reason


def cached(repo_id: str, revision: str | None = None, filename: str = "config.json") -> bool:
    """Whether a model's files are in the local Hugging Face cache."""
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return False
    found = try_to_load_from_cache(repo_id, filename, revision=revision)
    return isinstance(found, str)


def require_model(repo_id: str, revision: str | None = None) -> None:
    """Fail in seconds, in one line, for a hub model id that cannot be loaded: not cached, and the hub switched
    off or out of reach. A cached model loads offline; with the hub reachable nothing is checked here."""
    if offline_by_choice():
        if not cached(repo_id, revision):
            raise BackendError(f"model {repo_id!r} is not a local folder and not in the Hugging Face cache, and the "
                               "hub is switched off (HF_HUB_OFFLINE=1): give a local model folder")
        return
    reason = go_offline_if_unreachable()
    if reason is not None and not cached(repo_id, revision):
        raise BackendError(f"model {repo_id!r} is not a local folder and the Hugging Face hub cannot be reached "
                           f"({reason}): give a local model folder, or download it where the hub is reachable")
