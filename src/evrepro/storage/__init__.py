"""Storage plumbing shared by every store: atomic outputs and hashes (``fileio``), the HDF5 stores' common
attributes (``h5meta``), ragged per-sample columns (``ragged``), and the builder and reader base of the model
caches (``sample_cache``)."""
