"""`rom`: reduced-order modeling built on `spectral`.

Full-order model -> reductor -> reduced model, in pure JAX (see DESIGN.md). The package
ships empty in this release; POD, EIM/DEIM and reduced bases land with the ROM core.
"""

__all__: list[str] = []
