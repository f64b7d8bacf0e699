"""Networks: backbones, TransT (tracking/transt.py), fusion neck, losses, keyseeded test weights."""
