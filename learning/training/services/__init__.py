"""Writes of training management, one module per resource; every change an integrator cares about records its event."""
