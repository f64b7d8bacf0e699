# Upstream imports model_urls, which torchvision >= 0.15 removed: on a modern stack this module cannot be
# imported. The SLT shims must never import it (the tests rely on this failure).
from torchvision.models.resnet import model_urls  # noqa: F401


def resnet50(*args, **kwargs):
    raise NotImplementedError
