"""One thread each for the maths libraries in the Rasa server's process, set before they load.

TensorFlow (the sentence encoder) and OpenBLAS (numpy's matrix products: the red-flag
classifier, scikit-learn) each start a pool of threads as big as the machine and keep them
spinning between jobs. In a server that already does its work for many conversations at once,
those spins only take CPU from the event loop: at 20 patients on 2 cores, the server spent 38 ms
of CPU per message with the pools and 22 ms with one thread each, and answered 50 messages a
second instead of 62 (`make bench`). The encoder gets its batches from `pain_assistant.encode_ahead`
in a thread of its own anyway.

Only defaults: a deployment that sets any of these variables keeps its own value. Imported first
by `rasa_fixes`, before anything imports numpy or TensorFlow, which read them once, at start-up.
"""

import os

ONE_THREAD = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "TF_NUM_INTRAOP_THREADS",
              "TF_NUM_INTEROP_THREADS")

for _variable in ONE_THREAD:
    os.environ.setdefault(_variable, "1")
