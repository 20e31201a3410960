"""Composition roots: the app, worker, CLI and servers; the only package that imports every layer."""
