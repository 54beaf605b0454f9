"""NI's runtime services emulated on localhost, for development and CI without NI software."""

from .server import LocalRuntime

__all__ = ["LocalRuntime"]
