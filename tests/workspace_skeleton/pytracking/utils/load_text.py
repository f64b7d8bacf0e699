import numpy as np


def load_text(path, delimiter=' ', dtype=np.float32, backend='numpy'):
    """np.loadtxt, trying each delimiter of a tuple in turn (contract 7.5)."""
    delimiters = delimiter if isinstance(delimiter, (tuple, list)) else (delimiter,)
    for d in delimiters:
        try:
            return np.loadtxt(path, delimiter=d, dtype=dtype)
        except ValueError:
            continue
    raise Exception('Could not read file {}'.format(path))
