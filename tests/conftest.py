"""Suite-wide settings: CPU only, few threads (CI has 2 cores), quiet OpenCV."""
import os

os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
os.environ.setdefault("OMP_NUM_THREADS", "2")

import cv2  # noqa: E402
import torch  # noqa: E402

cv2.setNumThreads(1)
torch.set_num_threads(2)

# A developer's own ~/.config/slt/config.json must not leak into the tests.
os.environ.setdefault("SLT_CONFIG", os.path.join(os.path.dirname(__file__), "_no_user_config.json"))
