"""CUDA C sources of graphvar's GPU kernels (``*.cu``, ``*.cuh``, ``*.h``), data only.

In a checkout this is ``<repo>/kernels``; a wheel ships it as the package ``graphvar.kernels``
(this file makes it a regular package, so ``importlib.resources`` gives its real directory).
Found by ``graphvar.backends.kernels_src.kernel_dir()``.
"""
