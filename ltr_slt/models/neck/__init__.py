"""Position encoding and the TransT feature fusion network (ECA/CFA attention)."""
