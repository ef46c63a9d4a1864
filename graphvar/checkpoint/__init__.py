"""Checkpoint file formats: TF's V2 tensor bundle (default) and safetensors."""

from graphvar.checkpoint.atomic import cleanup_stale_temps
from graphvar.checkpoint.bundle import BundleReader, BundleWriter

__all__ = ["BundleReader", "BundleWriter", "cleanup_stale_temps"]
