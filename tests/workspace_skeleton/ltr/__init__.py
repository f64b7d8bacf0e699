from .admin.loading import load_network
from .admin.model_constructor import model_constructor
