"""bare_quart.py with the garbage collector set as the service's asgi.py sets
it (`tune_garbage_collector`): what was made at import frozen, and the young
generation's threshold from GC_YOUNG_THRESHOLD in the environment (bench/run.py
reads it from the bake). With it, the template's cost reads with that setting
equal on both sides."""

import gc
import os

from bare_quart import app

gc.freeze()
gc.set_threshold(int(os.environ["GC_YOUNG_THRESHOLD"]), *gc.get_threshold()[1:])

__all__ = ["app"]
