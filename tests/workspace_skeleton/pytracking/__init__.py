# Upstream imports TensorList/TensorDict, the libs and run_tracker here; nothing the SLT shims rely on.
