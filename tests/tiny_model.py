"""The tiny random Llama used by tests; the builder lives in the package (`codealign.testing.tiny_model`)."""

from codealign.testing.tiny_model import CHAT_TEMPLATE, SPECIAL_TOKENS, build_tiny_model

__all__ = ["CHAT_TEMPLATE", "SPECIAL_TOKENS", "build_tiny_model"]

if __name__ == "__main__":
    import sys

    print(build_tiny_model(sys.argv[1] if len(sys.argv) > 1 else "tiny-model"))
