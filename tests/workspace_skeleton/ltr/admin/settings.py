from ltr.admin.environment import env_settings


class Settings:
    """Exactly two defaults, as upstream: env (from ltr/admin/local.py) and use_gpu."""

    def __init__(self):
        self.set_default()

    def set_default(self):
        self.env = env_settings()
        self.use_gpu = True
